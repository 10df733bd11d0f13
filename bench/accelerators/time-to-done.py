#!/usr/bin/env python3
"""Time the built-in guest of `memspace run` to its done line: Memspace on Unicorn against QEMU 7.2
with -accel tcg, alternating runs in the same script run. Both are whole processes started from
here; the figure is the wall time from process start to the moment the done line reaches us.
Memspace also reports the time from its vCPU's start to the done line, printed for reference.

usage: bench/accelerators/time-to-done.py [--runs N] [--machine q35|pc|microvm]
(build first: dotnet build -c Release src/Memspace.Cli)"""
import argparse, os, re, shutil, statistics, subprocess, sys, tempfile, time

DONE = b"memspace-demo: done"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "src/Memspace.Cli/bin/Release/net10.0/Memspace.Cli")


def time_to_done(cmd):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    out = b""
    elapsed = None
    try:
        for line in p.stdout:
            out += line
            if elapsed is None and DONE in line:
                elapsed = time.perf_counter() - start
                if b"guest|" not in line:
                    break  # QEMU: the guest halts and QEMU keeps running
    finally:
        p.kill()
        p.wait()
        rest = p.stdout.read() if p.stdout else b""
        out += rest
    if elapsed is None:
        sys.exit("no done line from: " + " ".join(cmd) + "\n" + out.decode(errors="replace"))
    inner = re.search(rb"done line ([0-9.]+) ms after the vCPU started", out)
    return elapsed * 1000, float(inner.group(1)) if inner else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--machine", default="q35")
    a = ap.parse_args()
    qemu = shutil.which("qemu-system-x86_64")
    if not os.path.exists(CLI):
        sys.exit(f"build first: dotnet build -c Release src/Memspace.Cli ({CLI} is missing)")
    with tempfile.TemporaryDirectory() as d:
        image = os.path.join(d, "demo.bin")
        size = "64K" if a.machine == "microvm" else "256K"
        subprocess.run([CLI, "firmware", "-o", image, "--size", size], check=True, stdout=subprocess.DEVNULL)
        memspace = [CLI, "run", "--accel", "unicorn", "--machine", a.machine, "--no-timeline"]
        tcg = [qemu, "-M", a.machine, "-m", "512M", "-nodefaults", "-display", "none", "-accel", "tcg",
               "-bios", image, "-serial", "stdio", "-monitor", "none"] if qemu else None
        ms, inner, q = [], [], []
        for _ in range(a.runs):
            t, i = time_to_done(memspace)
            ms.append(t)
            inner.append(i)
            if tcg:
                q.append(time_to_done(tcg)[0])
    med = statistics.median
    print(f"machine {a.machine}, {a.runs} alternating runs, median wall time from process start to the done line:")
    print(f"  Memspace on Unicorn     {med(ms):8.1f} ms   (vCPU start to done line: {med(inner):.1f} ms)")
    if q:
        print(f"  QEMU 7.2 -accel tcg     {med(q):8.1f} ms")
        print(f"  ratio Memspace/QEMU     {med(ms) / med(q):8.2f}")
    else:
        print("  QEMU 7.2 -accel tcg     not run: qemu-system-x86_64 is not installed")
    print("  KVM                     not available on this machine" if not os.path.exists("/dev/kvm") else "  KVM: run memspace run --accel kvm")


if __name__ == "__main__":
    main()
