#!/usr/bin/env bash
# The writing guest on KVM: how long its CPL0 prologue takes (emulated under PVM) and how many pages
# per second it writes, unpaced and paced, for each machine and region size. Builds the CLI in
# Release, runs `memspace run --guest dirty` for each case and prints one line per case:
#   machine size rate | vCPU start -> ring 3 (ms) | prologue instructions, ms, per ms | pages/s (average, last second) | VERIFY
#
#   bench/dirty-guest/run.sh [--seconds 5] [--machines "pc q35 microvm"] [--sizes "64M 512M"] [--rates "0 25000"]
#
# Needs: dotnet 10 and /dev/kvm.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
seconds=5
machines="pc q35 microvm"
sizes="64M 512M"
rates="0 25000"
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --machines) machines="$2"; shift 2 ;;
        --sizes) sizes="$2"; shift 2 ;;
        --rates) rates="$2"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -e /dev/kvm ] || { echo "run.sh needs /dev/kvm" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building the CLI (Release) ..." >&2
dotnet build "$repo/src/Memspace.Cli" -c Release -o "$work/cli" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

printf '%-8s %-6s %-6s | %-10s | %-30s | %-26s | %s\n' machine size rate "ring 3 ms" "prologue instr / ms / per ms" "pages/s avg / last" verify
for m in $machines; do
    for s in $sizes; do
        for r in $rates; do
            out="$(dotnet "$work/cli/Memspace.Cli.dll" run -M "$m" -m 3G --guest dirty --dirty-size "$s" --dirty-rate "$r" --run-for "$seconds" --no-timeline 2>&1 || true)"
            ring3="$(grep -oP 'ring 3 reached \K[0-9.]+' <<<"$out" || echo '?')"
            instr="$(grep -oP "prologue's \K[0-9]+" <<<"$out" || echo '?')"
            took="$(grep -oP 'instructions took \K[0-9.]+' <<<"$out" || echo '?')"
            perms="$(grep -oP 'port write \(\K[0-9]+' <<<"$out" || echo '?')"
            avg="$(grep -oP ': \K[0-9]+(?= pages/s on average)' <<<"$out" || echo '?')"
            last="$(grep -oP 'rate=\K[0-9]+' <<<"$out" | tail -1 || echo '?')"
            verify="$(grep -oP 'VERIFY ok=\S+ writes=\S+' <<<"$out" || echo 'no VERIFY line')"
            printf '%-8s %-6s %-6s | %-10s | %-30s | %-26s | %s\n' "$m" "$s" "$r" "$ring3" "$instr / $took / $perms" "$avg / $last" "$verify"
        done
    done
done
