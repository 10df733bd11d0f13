#!/usr/bin/env bash
# Builds and runs the bare KVM_RUN round-trip baseline for both exit kinds.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -e /dev/kvm ]; then echo "no /dev/kvm: nothing to measure" >&2; exit 2; fi
cc -O2 -o /tmp/kvm-exit-baseline kvm-exit-baseline.c
/tmp/kvm-exit-baseline pio "${1:-200000}"
/tmp/kvm-exit-baseline mmio "${1:-200000}"
