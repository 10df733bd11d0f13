#!/usr/bin/env bash
# Memspace's AddressSpace against rust-vmm's vm-memory 0.10 (GuestMemoryMmap) on the same guest-memory
# workload (see README.md). Builds both in Release, runs every workload in separate processes,
# alternating Memspace and vm-memory, each pinned to one CPU, and prints a Markdown table.
#
#   bench/vm-memory-baseline/compare.sh [--process-runs 3] [--regions "1 64 1024"] [--cpu 1]
#                                       [--workloads "hot-read cold-read ..."] [-- ARGS FOR BOTH PROGRAMS]
#
# ARGS FOR BOTH PROGRAMS go to every run of both, e.g. -- --runs 5 --thp off.
# Needs: cargo, Debian's librust-vm-memory-dev (apt-get install -y librust-vm-memory-dev), dotnet 10,
# taskset (util-linux), python3.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
process_runs=3
regions="1 64 1024"
cpu=1
workloads="hot-read cold-read hot-write bulk-read:4096 bulk-read:1048576 bulk-write:4096 bulk-write:1048576"
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --process-runs) process_runs="$2"; shift 2 ;;
        --regions) regions="$2"; shift 2 ;;
        --cpu) cpu="$2"; shift 2 ;;
        --workloads) workloads="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

for tool in cargo dotnet taskset python3; do
    command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 2; }
done
if [ ! -d /usr/share/cargo/registry/vm-memory-0.10.0 ]; then
    echo "Debian's vm-memory 0.10 is missing: apt-get install -y librust-vm-memory-dev" >&2
    exit 2
fi

echo "building vm-memory-baseline (cargo --release --offline) and Memspace.Benchmarks (Release)..." >&2
(cd "$here" && cargo build --release --offline --quiet)
dotnet build -c Release "$repo/bench/Memspace.Benchmarks" -nologo -v quiet >&2
rust_bin="$here/target/release/vm-memory-baseline"
dotnet_dll="$repo/bench/Memspace.Benchmarks/bin/Release/net10.0/Memspace.Benchmarks.dll"

results="$(mktemp /tmp/vm-memory-compare.XXXXXX)"
echo "raw lines: $results" >&2
for n in $regions; do
    for w in $workloads; do
        mode="${w%%:*}"
        size_args=()
        if [ "$mode" != "$w" ]; then size_args=(--size "${w#*:}"); fi
        for ((r = 1; r <= process_runs; r++)); do
            echo "  regions=$n $w run $r/$process_runs" >&2
            taskset -c "$cpu" dotnet "$dotnet_dll" workload --regions "$n" --mode "$mode" "${size_args[@]}" "${extra[@]}" >>"$results"
            taskset -c "$cpu" "$rust_bin" --regions "$n" --mode "$mode" "${size_args[@]}" "${extra[@]}" >>"$results"
        done
    done
done

echo
echo "Host: $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo '?'); pinned to CPU $cpu; $(rustc --version 2>/dev/null || echo rustc); .NET $(dotnet --version)"
echo "Each cell: median over $process_runs process runs of each process's median timed run; ratios to the raw baseline are taken within each process."
echo
python3 - "$results" <<'EOF'
import statistics, sys
from collections import defaultdict

rows = defaultdict(list)
order = []
for line in open(sys.argv[1]):
    if not line.startswith("workload "):
        continue
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    key = (int(kv["regions"]), kv["mode"], int(kv["size"]))
    if key not in order:
        order.append(key)
    rows[key + (kv["impl"],)].append(kv)

def med(runs, field):
    return statistics.median(float(r[field]) for r in runs)

def size_name(s):
    return f"{s >> 20} MiB" if s >= 1 << 20 else f"{s >> 10} KiB" if s >= 1024 else f"{s} B"

def pages(runs):
    return "/".join(sorted({r["page"] for r in runs}))

print("| workload | regions | vm-memory ns/op | Memspace ns/op | Memspace / vm-memory | vm-memory vs own baseline | Memspace vs own baseline | pages (vm-memory; Memspace) |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for key in order:
    n, mode, size = key
    vm, ms = rows.get(key + ("vm-memory",)), rows.get(key + ("memspace",))
    if not vm or not ms:
        continue
    bulk = mode.startswith("bulk")
    name = f"{mode} {size_name(size)}" if bulk else f"{mode} u64"
    vm_ns, ms_ns = med(vm, "api_ns"), med(ms, "api_ns")
    if bulk:
        # Speed relative to memcpy of the same bytes in the same process: 1.00 = as fast as memcpy.
        own = lambda runs: f"{med(runs, 'speed_vs_memcpy'):.2f}x memcpy speed"
    else:
        own = lambda runs: f"{med(runs, 'api_over_base'):.2f}x raw ptr ({med(runs, 'base_ns'):.2f} ns)"
    print(f"| {name} | {n} | {vm_ns:.2f} | {ms_ns:.2f} | {ms_ns / vm_ns:.2f} | {own(vm)} | {own(ms)} | {pages(vm)}; {pages(ms)} |")
EOF
