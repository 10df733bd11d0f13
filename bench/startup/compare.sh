#!/usr/bin/env bash
# Start-up: how long `memspace mtree --machine q35 -f` takes to answer, NativeAOT and JIT, against
# how long QEMU 7.2 takes to start and answer `info mtree -f` for the same machine. Publishes the
# NativeAOT binary, builds the JIT one, runs hyperfine on the three and prints their medians and the
# ratios to QEMU's.
#
#   bench/startup/compare.sh [--runs 30] [--warmup 3]
#
# Needs: dotnet 10 (with clang or gcc for the native link), hyperfine, qemu-system-x86_64, python3.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs=30
warmup=3
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
for tool in dotnet hyperfine qemu-system-x86_64 python3; do
    command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "publishing NativeAOT and building JIT (Release) ..." >&2
dotnet publish "$repo/src/Memspace.Cli" -c Release -r linux-x64 -p:PublishAot=true -o "$work/aot" >"$work/publish.log" 2>&1 \
    || { cat "$work/publish.log" >&2; exit 1; }
dotnet build "$repo/src/Memspace.Cli" -c Release -o "$work/jit" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; exit 1; }

aot="$work/aot/memspace mtree --machine q35 -f"
jit="dotnet $work/jit/Memspace.Cli.dll mtree --machine q35 -f"
qemu="printf 'info mtree -f\\nquit\\n' | qemu-system-x86_64 -machine q35 -accel tcg -m 512 -S -display none -serial none -nodefaults -monitor stdio"

hyperfine --runs "$runs" --warmup "$warmup" --export-json "$work/result.json" --shell=bash \
    -n "memspace (NativeAOT)" "$aot" -n "memspace (JIT)" "$jit" -n "QEMU 7.2" "$qemu" >&2

python3 - "$work/result.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
qemu = next(r for r in results if r["command"] == "QEMU 7.2")
base = statistics.median(qemu["times"])
print("| command | median | ratio to QEMU 7.2 |")
print("|---|---|---|")
for r in results:
    m = statistics.median(r["times"])
    print(f"| {r['command']} | {m * 1000:.1f} ms | {m / base:.2f}x |")
PY
