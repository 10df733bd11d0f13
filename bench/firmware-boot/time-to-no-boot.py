#!/usr/bin/env python3
"""Time SeaBIOS from process start to "No bootable device", Memspace against QEMU 7.2, both on KVM,
alternating runs in the same script run (issue 11's measurement).

Memspace: `memspace run --machine M --firmware seabios --no-timeline` (its debug console lines arrive
as "firmware| ..."). QEMU: `qemu-system-x86_64 -accel kvm -nodefaults -vga none -global
kvm-apic.vapic=off` with an isa-debugcon at 0x402 on stdio, the same SeaBIOS image, the same RAM.
The figure is wall time from process start to the moment the line reaches this script.

usage: bench/firmware-boot/time-to-no-boot.py [--runs N] [--machines pc,q35] [--ram 512M] [--memspace PATH]
(build first: dotnet build -c Release src/Memspace.Cli, or pass a NativeAOT binary from
 dotnet publish src/Memspace.Cli -c Release -r linux-x64 -p:PublishAot=true -o out  as --memspace out/memspace;
 needs /dev/kvm, qemu-system-x86 and seabios)"""
import argparse, os, shutil, statistics, subprocess, sys, time

LINE = b"No bootable device"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "src/Memspace.Cli/bin/Release/net10.0/Memspace.Cli")
BIOS = "/usr/share/seabios/bios-256k.bin"


def time_to_line(cmd, timeout=120):
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    elapsed = None
    tail = []
    try:
        for line in p.stdout:
            tail = (tail + [line])[-5:]
            if LINE in line:
                elapsed = time.perf_counter() - start
                break
            if time.perf_counter() - start > timeout:
                break
    finally:
        p.kill()
        p.wait()
    if elapsed is None:
        sys.exit("no '" + LINE.decode() + "' from: " + " ".join(cmd) + "\n" + b"".join(tail).decode(errors="replace"))
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--machines", default="pc,q35")
    ap.add_argument("--ram", default="512M")
    ap.add_argument("--memspace", default=CLI, help="the memspace binary (default: the Release build)")
    a = ap.parse_args()
    qemu = shutil.which("qemu-system-x86_64")
    for need, what in ((os.path.exists(a.memspace), f"build first: dotnet build -c Release src/Memspace.Cli ({a.memspace} is missing)"),
                       (os.path.exists("/dev/kvm"), "needs /dev/kvm"),
                       (qemu is not None, "needs qemu-system-x86_64 (apt-get install qemu-system-x86)"),
                       (os.path.exists(BIOS), f"needs {BIOS} (apt-get install seabios)")):
        if not need:
            sys.exit(what)
    med = statistics.median
    print(f"SeaBIOS to '{LINE.decode()}', {a.ram}, {a.runs} alternating runs, medians (min-max); memspace = {a.memspace}:")
    for m in a.machines.split(","):
        memspace = [a.memspace, "run", "--machine", m, "-m", a.ram, "--accel", "kvm", "--firmware", BIOS, "--no-timeline"]
        q = [qemu, "-M", m, "-m", a.ram, "-accel", "kvm", "-nodefaults", "-vga", "none", "-display", "none",
             "-global", "kvm-apic.vapic=off", "-bios", BIOS, "-chardev", "stdio,id=dbg",
             "-device", "isa-debugcon,iobase=0x402,chardev=dbg", "-monitor", "none", "-serial", "none"]
        ours, theirs = [], []
        for _ in range(a.runs):
            ours.append(time_to_line(memspace))
            theirs.append(time_to_line(q))
        print(f"  {m:4} Memspace {med(ours):6.2f} s ({min(ours):.2f}-{max(ours):.2f})   "
              f"QEMU 7.2 {med(theirs):6.2f} s ({min(theirs):.2f}-{max(theirs):.2f})   "
              f"ratio Memspace/QEMU {med(ours) / med(theirs):.2f}")


if __name__ == "__main__":
    main()
