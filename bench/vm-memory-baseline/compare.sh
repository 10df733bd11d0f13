#!/usr/bin/env bash
# Memspace's AddressSpace against rust-vmm's vm-memory 0.10 (GuestMemoryMmap) on the same guest-memory
# workload (see README.md). Builds both in Release, runs every workload in separate processes,
# alternating Memspace and vm-memory, each pinned to one CPU, and prints a Markdown table.
#
#   bench/vm-memory-baseline/compare.sh [--process-runs 3] [--regions "1 64 1024"] [--cpu 1]
#                                       [--workloads "hot-read cold-read ..."]
#                                       [--apis "address-space accessor"] [-- ARGS FOR BOTH PROGRAMS]
#
# --apis: Memspace's entry points to measure: AddressSpace.Read/Write (address-space) and a
# GuestMemoryAccessor held by the thread (accessor), each against vm-memory's GuestMemoryMmap.
# The .NET runs use DOTNET_TieredCompilation=0 so every method is fully optimised from its first
# call, as the Rust program is; tiering would otherwise leave some callees at tier 0 for the short
# timed runs.
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
apis="address-space accessor"
workloads="hot-read cold-read hot-write bulk-read:4096 bulk-read:1048576 bulk-write:4096 bulk-write:1048576"
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --process-runs) process_runs="$2"; shift 2 ;;
        --regions) regions="$2"; shift 2 ;;
        --cpu) cpu="$2"; shift 2 ;;
        --workloads) workloads="$2"; shift 2 ;;
        --apis) apis="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
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
            for api in $apis; do
                DOTNET_TieredCompilation=0 taskset -c "$cpu" dotnet "$dotnet_dll" workload --api "$api" \
                    --regions "$n" --mode "$mode" "${size_args[@]}" "${extra[@]}" >>"$results"
            done
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

print("| workload | regions | vm-memory ns/op | Memspace AddressSpace ns/op | ratio | Memspace accessor ns/op | ratio | vm-memory vs own baseline | Memspace vs own baseline (AddressSpace; accessor) | pages (vm-memory; Memspace) |")
print("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
for key in order:
    n, mode, size = key
    vm = rows.get(key + ("vm-memory",))
    ms = rows.get(key + ("memspace",))
    acc = rows.get(key + ("memspace-accessor",))
    if not vm or not (ms or acc):
        continue
    bulk = mode.startswith("bulk")
    name = f"{mode} {size_name(size)}" if bulk else f"{mode} u64"
    vm_ns = med(vm, "api_ns")
    if bulk:
        # Speed relative to memcpy of the same bytes in the same process: 1.00 = as fast as memcpy.
        own = lambda runs: f"{med(runs, 'speed_vs_memcpy'):.2f}x memcpy speed" if runs else "-"
    else:
        own = lambda runs: f"{med(runs, 'api_over_base'):.2f}x raw ptr ({med(runs, 'base_ns'):.2f} ns)" if runs else "-"
    def cells(runs):
        if not runs:
            return "-", "-"
        ns = med(runs, "api_ns")
        return f"{ns:.2f}", f"{ns / vm_ns:.2f}"
    ms_ns, ms_ratio = cells(ms)
    acc_ns, acc_ratio = cells(acc)
    print(f"| {name} | {n} | {vm_ns:.2f} | {ms_ns} | {ms_ratio} | {acc_ns} | {acc_ratio} | {own(vm)} | {own(ms)}; {own(acc)} | {pages(vm)}; {pages((ms or []) + (acc or []))} |")
EOF
