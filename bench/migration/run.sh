#!/usr/bin/env bash
# Migration and snapshot figures for Memspace (docs/MIGRATION.md): for 512 MiB and 2 GiB q35 guests,
# idle (the writing guest at 1 page/s) and the writing guest (--guest dirty, 64 MiB region) at two dirty rates:
# total migration time, bytes sent / RAM size, rounds, downtime (source paused -> destination running);
# then snapshot write time and restore-to-running (lazy and copied).
#
# Needs: dotnet 10 (with clang for the NativeAOT link), /dev/kvm, python3. Everything runs on 127.0.0.1.
# Usage: bench/migration/run.sh [--jit]    (default: a NativeAOT build, so no JIT time is measured)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
[ -e /dev/kvm ] || { echo "needs /dev/kvm" >&2; exit 1; }

if [ "${1:-}" = "--jit" ]; then
    dotnet build "$repo/src/Memspace.Cli" -c Release -o "$work/bin" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
    ms=(dotnet "$work/bin/Memspace.Cli.dll")
    build="JIT (Release)"
else
    echo "publishing NativeAOT ..." >&2
    dotnet publish "$repo/src/Memspace.Cli" -c Release -r linux-x64 -p:PublishAot=true -o "$work/aot" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
    ms=("$work/aot/memspace")
    build="NativeAOT"
fi

rate_low=${RATE_LOW:-5000}      # pages/s (20 MiB/s)
rate_high=${RATE_HIGH:-50000}   # pages/s (195 MiB/s)
machine=${MACHINE:-q35}
port=$((40000 + RANDOM % 20000))

# migrate SIZE GUEST-ARGS... -> prints "time_ms bytes_mib ratio rounds downtime_ms verify"
migrate() {
    local size=$1; shift
    port=$((port + 1))
    "${ms[@]}" run -M "$machine" -m "$size" "$@" --incoming "tcp:127.0.0.1:$port" --run-for 2 --timeout 10 >"$work/dst.txt" 2>&1 &
    local dst=$!
    for _ in $(seq 100); do grep -q listening "$work/dst.txt" 2>/dev/null && break; sleep 0.1; done
    "${ms[@]}" run -M "$machine" -m "$size" "$@" --migrate "tcp:127.0.0.1:$port" --migrate-after 2 --run-for 2 --timeout 10 >"$work/src.txt" 2>&1 || true
    wait $dst || true
    python3 - "$work/src.txt" "$work/dst.txt" <<'PY'
import re, sys
src = open(sys.argv[1]).read(); dst = open(sys.argv[2]).read()
m = re.search(r"migrate: done in (\d+) ms, (\d+) passes \((\d+) dirty rounds\), ([\d.]+) MiB sent = ([\d.]+) x RAM, downtime ([\d.]+) ms", src)
if not m:
    sys.stderr.write(src[-2000:] + "\n" + dst[-2000:] + "\n"); print("failed - - - - -"); sys.exit()
v = re.search(r"VERIFY ok=(\w+)", dst)
print(m.group(1), m.group(4), m.group(5), m.group(3), m.group(6), v.group(1) if v else "-")
PY
}

# snapshot SIZE GUEST-ARGS... -> prints "write_ms lazy_ms copy_ms data_mib"
snapshot() {
    local size=$1; shift
    local dir="$work/snap"; rm -rf "$dir"
    "${ms[@]}" run -M "$machine" -m "$size" "$@" --snapshot-on-exit "$dir" --run-for 1 --timeout 3 >"$work/snap.txt" 2>&1 || true
    local lazy copy
    lazy=$("${ms[@]}" run --restore "$dir" "$@" --run-for 0.5 --timeout 1 2>&1 | grep '^restore:' || true)
    copy=$("${ms[@]}" run --restore "$dir" --restore-copy "$@" --run-for 0.5 --timeout 1 2>&1 | grep '^restore:' || true)
    python3 - "$work/snap.txt" "$lazy" "$copy" "$work/details.txt" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
w = re.search(r"snapshot: .*?([\d.]+) MiB of it non-zero and written, in ([\d.]+) ms", s)
l = re.search(r"running after ([\d.]+) ms", sys.argv[2]); c = re.search(r"running after ([\d.]+) ms", sys.argv[3])
print(w.group(2) if w else "failed", l.group(1) if l else "failed", c.group(1) if c else "failed", w.group(1) if w else "-")
if l: open(sys.argv[4], "a").write("  lazy " + sys.argv[2].strip() + "\n")
PY
}

echo "Memspace migration figures: $machine on KVM, $build, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| RAM | guest | total ms | MiB sent | sent / RAM | dirty rounds | downtime ms | VERIFY |"
echo "|---|---|---|---|---|---|---|---|"
for size in 512M 2G; do
    for guest in idle low high tight; do
        case $guest in
            idle) args=(--guest dirty --dirty-size 64M --dirty-rate 1); label="idle (writing guest at 1 page/s)";;
            low) args=(--guest dirty --dirty-size 64M --dirty-rate "$rate_low"); label="writing 64 MiB at $rate_low pages/s";;
            high) args=(--guest dirty --dirty-size 64M --dirty-rate "$rate_high"); label="writing 64 MiB at $rate_high pages/s";;
            tight) args=(--guest dirty --dirty-size 64M --dirty-rate "$rate_high" --downtime-limit 20); label="same, --downtime-limit 20 ms";;
        esac
        read -r t mib ratio rounds down ok < <(migrate "$size" "${args[@]}")
        echo "| $size | $label | $t | $mib | $ratio | $rounds | $down | $ok |"
    done
done
echo
echo "| RAM | guest | snapshot write ms | non-zero MiB written | restore-to-running ms (lazy) | (copy) |"
echo "|---|---|---|---|---|---|"
for size in 512M 2G; do
    for guest in idle low; do
        case $guest in
            idle) args=(--guest dirty --dirty-size 64M --dirty-rate 1); label="idle (1 page/s)";;
            low) args=(--guest dirty --dirty-size 64M --dirty-rate "$rate_low"); label="writing 64 MiB";;
        esac
        read -r w l c d < <(snapshot "$size" "${args[@]}")
        echo "| $size | $label | $w | $d | $l | $c |"
    done
done
echo
echo "Lazy restores step by step:"
cat "$work/details.txt" 2>/dev/null || true
