#!/usr/bin/env python3
"""Record QEMU 7.2 memory-API reference output for the Memspace test suite.

For every case in CASES this starts QEMU with a QMP unix socket, runs the
HMP commands `info mtree` (plain, -D, -f, -o, -f -o) and `info ramblock`
through QMP `human-monitor-command`, and stores the text under
tests/Memspace.Tests/Data/qemu72/<case>-<state>/.

States:
  S    QEMU started with -S: machine initialised and reset, no guest code run.
  run  QEMU started without -S; `info mtree -f` is polled once per second
       until it has stayed unchanged for SETTLE_POLLS consecutive polls (or
       the settle timeout expires), then the VM is paused with `stop` and the
       outputs are captured.  Firmware cases (with an ISA debug console)
       instead wait until the firmware's debug log contains its end marker
       ("No bootable device"), give it a short grace period, then `stop`.

KVM variants (<case>-kvm-<state>, with kvm-trace.txt) are produced only when
/dev/kvm is usable and the case's target matches the host architecture.

Only the Python standard library is used.  See README.md next to this file.
"""

import argparse
import concurrent.futures
import datetime
import fnmatch
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO_ROOT, "tests", "Memspace.Tests", "Data", "qemu72")

BINARIES = {
    "x86_64": "qemu-system-x86_64",
    "aarch64": "qemu-system-aarch64",
    "arm": "qemu-system-arm",
}

# Host architecture (platform.machine()) on which KVM can run a given target.
KVM_HOST_FOR_TARGET = {
    "x86_64": {"x86_64", "amd64"},
    "aarch64": {"aarch64", "arm64"},
    "arm": set(),  # 32-bit boards below have no KVM support
}

# HMP command -> output file name.  Order is the capture order.
CAPTURES = [
    ("info mtree", "mtree.txt"),
    ("info mtree -D", "mtree-D.txt"),
    ("info mtree -f", "mtree-f.txt"),
    ("info mtree -o", "mtree-o.txt"),
    ("info mtree -f -o", "mtree-f-o.txt"),
    ("info ramblock", "ramblock.txt"),
]
# Additional captures for the firmware cases (device models need them).
FIRMWARE_CAPTURES = [
    ("info pci", "pci.txt"),
    ("info qtree", "qtree.txt"),
    ("info pic", "pic.txt"),
]

QMP_SOCKET = "qmp.sock"        # relative to the per-run temp dir (QEMU's cwd)
KVM_TRACE_FILE = "kvm-trace.txt"
DEBUGCON_FILE = "debugcon.txt" # relative to QEMU's cwd, like the QMP socket

OUTPUT_FILES = (["cmdline.txt"] + [f for _, f in CAPTURES] + [f for _, f in FIRMWARE_CAPTURES]
                + [KVM_TRACE_FILE, DEBUGCON_FILE])

# The firmware cases: no default devices, no VGA, no vapic option ROM (so the
# kvmvapic RAM overlay does not split the C0000 segment), and SeaBIOS's debug
# output (port 0x402) written to a file in QEMU's working directory.
FIRMWARE_ARGS = [
    "-vga", "none",
    "-global", "kvm-apic.vapic=off",
    "-chardev", "file,id=dbg,path=%s" % DEBUGCON_FILE,
    "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
]
# What SeaBIOS prints when it has tried every boot device: the end of POST.
SEABIOS_END = "No bootable device"

# Console/monitor settings.  Cases built with -nodefaults get "none" for
# everything; cases that keep the default devices get null backends so the
# default serial/parallel devices still exist (only their host side is null).
CONSOLE_NODEFAULTS = ["-display", "none", "-serial", "none", "-monitor", "none"]
CONSOLE_DEFAULTS_X86 = ["-display", "none", "-serial", "null", "-parallel", "null",
                        "-monitor", "none"]
CONSOLE_DEFAULTS_ARM = ["-display", "none", "-serial", "null", "-monitor", "none"]

# A few bytes of "firmware" for M-profile boards, passed inline with the
# generic loader device (no file needed).  Without it QEMU 7.2 reads an
# all-zero vector table and aborts with "Lockup: can't escalate 3 to HardFault"
# as soon as the CPU runs.  Layout at VTOR: initial SP, reset PC (Thumb bit
# set) -> "b ." at VTOR+8.  The third loader sets the PC, which re-runs CPU
# reset after the first two have written RAM, so the vector table is picked up.
def m_profile_stub(vtor: int, sp: int) -> List[str]:
    vec = ((vtor + 9) << 32) | sp
    return [
        "-device", "loader,addr=0x%x,data=0x%016x,data-len=8" % (vtor, vec),
        "-device", "loader,addr=0x%x,data=0xe7fe,data-len=2" % (vtor + 8),
        "-device", "loader,addr=0x%x,cpu-num=0" % (vtor + 9),
    ]


@dataclass
class Case:
    name: str                     # base name; dirs are <name>[-kvm]-<S|run>
    target: str                   # key of BINARIES
    machine: str                  # value for -M
    mem: Optional[str] = None     # value for -m (None: board default)
    cpu: Optional[str] = None     # value for -cpu (None: board default)
    nodefaults: bool = True
    args: List[str] = field(default_factory=list)   # extra device args
    kvm: bool = True              # may a KVM variant exist at all?
    kvm_why_not: str = ""         # reason when kvm is False
    kvm_cpu: Optional[str] = None # -cpu to use instead of `cpu` under KVM
    settle_polls: int = 0         # longer stability window for this case (0: default)
    # Firmware cases: the -run state settles when the debug console log
    # (DEBUGCON_FILE, which `args` must route port 0x402 to) contains this
    # string, instead of by polling `info mtree -f`.  Such cases also save
    # the log and the FIRMWARE_CAPTURES.
    firmware_end: Optional[str] = None
    note: str = ""

    @property
    def captures(self):
        return CAPTURES + (FIRMWARE_CAPTURES if self.firmware_end else [])

    def argv(self, accel: str, stopped: bool) -> List[str]:
        cpu = self.kvm_cpu if (accel == "kvm" and self.kvm_cpu) else self.cpu
        a = [BINARIES[self.target], "-M", self.machine]
        if cpu:
            a += ["-cpu", cpu]
        if self.mem:
            a += ["-m", self.mem]
        if self.nodefaults:
            a += ["-nodefaults"]
        a += list(self.args)
        a += ["-accel", accel]
        if self.nodefaults:
            a += CONSOLE_NODEFAULTS
        elif self.target == "x86_64":
            a += CONSOLE_DEFAULTS_X86
        else:
            a += CONSOLE_DEFAULTS_ARM
        a += ["-qmp", "unix:%s,server=on,wait=off" % QMP_SOCKET]
        if accel == "kvm":
            a += ["-trace", "enable=kvm_set_user_memory,file=%s" % KVM_TRACE_FILE]
        if stopped:
            a += ["-S"]
        return a


X86_PCI_DEVICES = [
    "-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
    "-device", "VGA",
    "-netdev", "user,id=n1", "-device", "virtio-net-pci,netdev=n1",
]

FIRMWARE_GRACE_S = 0.5   # time given to the firmware after its end marker

ARM_NO_KVM_SECURE = "KVM cannot emulate EL3 (secure=on is TCG-only)"
ARM_NO_KVM_EL2 = "QEMU 7.2 KVM cannot provide EL2 (virtualization=on is TCG-only)"
ARM32_NO_KVM = "32-bit board models have no KVM support"


def build_cases() -> List[Case]:
    c: List[Case] = []
    # --- x86: bare machines at a range of RAM sizes ----------------------
    # Besides round sizes, the split points of the RAM below/above 4 GiB rule:
    # q35 moves to 2 GiB low at 2816M (0xb0000000), pc to 3 GiB low at 3584M
    # (0xe0000000); one MiB either side of each, for both machines.
    for machine in ("pc", "q35"):
        for mem in ("128M", "512M", "1G", "2G", "2815M", "2816M", "3G",
                    "3583M", "3584M", "4G", "8G"):
            c.append(Case("x86-%s-%s-nodefaults" % (machine, mem), "x86_64", machine, mem))
    # --- x86: PCI devices (BARs, option ROMs, VGA legacy window) ---------
    for machine in ("pc", "q35"):
        for mem in ("512M", "4G"):
            # The e1000 iPXE ROM shows its "Press Ctrl-B" prompt and tries DHCP
            # first; only ~7.5 s after start does the virtio-net iPXE ROM enable
            # bus mastering (its AS moves into the system FlatView).  With the
            # default 3-poll window the run state would be captured before that.
            c.append(Case("x86-%s-%s-pci" % (machine, mem), "x86_64", machine, mem,
                          args=X86_PCI_DEVICES, settle_polls=15,
                          note="e1000 + std VGA + virtio-net-pci, user networking; "
                               "15-poll settle window because the virtio-net iPXE ROM "
                               "enables bus mastering ~7.5 s after start"))
    # --- x86: firmware runs (SeaBIOS debug log, settle on its end) --------
    for machine in ("pc", "q35"):
        for mem in ("512M", "2G", "4G"):
            c.append(Case("x86-%s-%s-firmware" % (machine, mem), "x86_64", machine, mem,
                          args=FIRMWARE_ARGS, firmware_end=SEABIOS_END,
                          note="no VGA, vapic off, SeaBIOS debug log on port 0x402 "
                               "(debugcon.txt); -run stops %gs after \"%s\""
                               % (FIRMWARE_GRACE_S, SEABIOS_END)))
    # --- x86: real-world devices that stress the importer ------------------
    # Two RAM regions named "vga.vram" with different owners (the dump does not
    # print owners), and PCIe root ports, whose bridge address spaces print
    # aliases before the "memory" address space.
    c.append(Case("x86-q35-512M-two-vga-firmware", "x86_64", "q35", "512M",
                  args=FIRMWARE_ARGS + ["-device", "VGA", "-device", "secondary-vga"],
                  firmware_end=SEABIOS_END,
                  note="std VGA and secondary-vga: two 'vga.vram' regions with different owners"))
    c.append(Case("x86-q35-512M-root-port-firmware", "x86_64", "q35", "512M",
                  args=FIRMWARE_ARGS + ["-device", "pcie-root-port,id=rp1,chassis=1"],
                  firmware_end=SEABIOS_END,
                  note="one pcie-root-port: bridge aliases printed before 'memory'"))
    c.append(Case("x86-q35-512M-root-ports-firmware", "x86_64", "q35", "512M",
                  args=FIRMWARE_ARGS + ["-device", "pcie-root-port,id=rp1,chassis=1",
                                        "-device", "pcie-root-port,id=rp2,chassis=2"],
                  firmware_end=SEABIOS_END,
                  note="two pcie-root-ports"))
    # --- x86: default device set ------------------------------------------
    for machine in ("pc", "q35"):
        c.append(Case("x86-%s-512M-defaults" % machine, "x86_64", machine, "512M",
                      nodefaults=False,
                      note="default devices; serial/parallel use null backends"))
    # --- x86: other machine types / options ------------------------------
    c.append(Case("x86-isapc-128M-nodefaults", "x86_64", "isapc", "128M"))
    # microvm splits at 3 GiB when RAM is larger than that.
    for mem in ("128M", "512M", "3G", "3073M", "8G"):
        c.append(Case("x86-microvm-%s-nodefaults" % mem, "x86_64", "microvm", mem))
    c.append(Case("x86-microvm-512M-pit-pic-rtc-off", "x86_64",
                  "microvm,pit=off,pic=off,rtc=off", "512M"))
    c.append(Case("x86-pc-512M-smm-off", "x86_64", "pc,smm=off", "512M"))
    c.append(Case("x86-q35-512M-smm-off", "x86_64", "q35,smm=off", "512M"))
    # --- aarch64 virt -------------------------------------------------------
    a57 = dict(cpu="cortex-a57", kvm_cpu="host")
    c.append(Case("arm-virt-1G", "aarch64", "virt", "1G", **a57))
    c.append(Case("arm-virt-4G", "aarch64", "virt", "4G", **a57,
                  note="RAM crosses the 4 GiB boundary (RAM base is 1 GiB)"))
    c.append(Case("arm-virt-1G-defaults", "aarch64", "virt", "1G", nodefaults=False, **a57,
                  note="default devices (default NIC)"))
    c.append(Case("arm-virt-1G-pci", "aarch64", "virt", "1G", **a57,
                  args=["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
                        "-device", "VGA"],
                  note="no firmware: PCI BARs are never assigned"))
    c.append(Case("arm-virt-1G-gicv3", "aarch64", "virt,gic-version=3", "1G", **a57))
    c.append(Case("arm-virt-1G-secure", "aarch64", "virt,secure=on", "1G",
                  cpu="cortex-a57", kvm=False, kvm_why_not=ARM_NO_KVM_SECURE))
    c.append(Case("arm-virt-1G-virtualization", "aarch64", "virt,virtualization=on", "1G",
                  cpu="cortex-a57", kvm=False, kvm_why_not=ARM_NO_KVM_EL2))
    # --- 32-bit arm boards (qemu-system-arm) ------------------------------
    c.append(Case("arm-vexpress-a15", "arm", "vexpress-a15", nodefaults=False,
                  args=["-audiodev", "none,id=snd0", "-global", "pl041.audiodev=snd0"],
                  kvm=False, kvm_why_not=ARM32_NO_KVM,
                  note="no kernel: CPU executes the empty flash; audio routed to a "
                       "'none' audiodev to keep ALSA out"))
    c.append(Case("arm-mps2-an385", "arm", "mps2-an385", nodefaults=False,
                  args=m_profile_stub(0x00000000, 0x20001000),
                  kvm=False, kvm_why_not=ARM32_NO_KVM,
                  note="M-profile; inline loader stub (vector table + 'b .') because "
                       "QEMU 7.2 aborts with Lockup on an empty vector table"))
    c.append(Case("arm-mps2-an505", "arm", "mps2-an505", nodefaults=False,
                  args=m_profile_stub(0x10000000, 0x38001000),
                  kvm=False, kvm_why_not=ARM32_NO_KVM,
                  note="Armv8-M with TrustZone (IDAU, MPC IOMMU regions); inline loader "
                       "stub in the secure SSRAM alias"))
    return c


CASES = build_cases()

# ---------------------------------------------------------------------------
# Process bookkeeping: every QEMU we start is tracked here so that it can be
# killed on any exit path (exceptions, Ctrl-C, SIGTERM).
# ---------------------------------------------------------------------------
_live_lock = threading.Lock()
_live: set = set()
_aborting = threading.Event()


def _register(p: subprocess.Popen) -> None:
    with _live_lock:
        _live.add(p)
    if _aborting.is_set():  # started while we were shutting down
        p.kill()


def _unregister(p: subprocess.Popen) -> None:
    with _live_lock:
        _live.discard(p)


def kill_all_live() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def stop_process(p: subprocess.Popen) -> None:
    """Make sure `p` is gone: it should already be exiting after QMP quit."""
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
    _unregister(p)


# ---------------------------------------------------------------------------
# Minimal QMP client
# ---------------------------------------------------------------------------
class QMPError(Exception):
    pass


class QMP:
    def __init__(self, path: str, timeout: float):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.rfile = self.sock.makefile("rb")
        self.next_id = 0
        self.events = []
        self.greeting = self._read()
        if "QMP" not in self.greeting:
            raise QMPError("unexpected greeting: %r" % (self.greeting,))

    def _read(self):
        line = self.rfile.readline()
        if not line:
            raise QMPError("QMP connection closed")
        return json.loads(line.decode("utf-8"))

    def cmd(self, name: str, arguments=None):
        self.next_id += 1
        msg = {"execute": name, "id": self.next_id}
        if arguments is not None:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode("utf-8") + b"\n")
        while True:
            resp = self._read()
            if "event" in resp:
                self.events.append(resp)
                continue
            if resp.get("id") != self.next_id:
                continue
            if "error" in resp:
                raise QMPError("%s: %s" % (name, resp["error"]))
            return resp.get("return")

    def hmp(self, command_line: str) -> str:
        return self.cmd("human-monitor-command", {"command-line": command_line})

    def close(self):
        try:
            self.rfile.close()
        finally:
            self.sock.close()


def normalise(text: str, what: str) -> str:
    """CRLF -> LF (HMP emits \\r\\n); nothing else is touched."""
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        raise ValueError("%s: output contains a stray CR" % what)
    if "\x1b" in text:
        raise ValueError("%s: output contains an ESC character" % what)
    return text


def canonical_flatviews(text: str) -> str:
    """`info mtree -f` with FlatView numbering dropped and the FlatView blocks
    sorted: the order comes from a GHashTable keyed by FlatView pointers, so it
    may change whenever the flat views are re-rendered even if nothing changed."""
    blocks, cur = [], []
    for line in text.split("\n"):
        if line.startswith("FlatView #"):
            blocks.append("\n".join(cur).strip("\n"))
            cur = []
        else:
            cur.append(line)
    blocks.append("\n".join(cur).strip("\n"))
    return "\n\x00\n".join(sorted(blocks))


def write_text(path: str, text: str) -> None:
    with open(path, "wb") as f:
        f.write(text.encode("utf-8"))


# ---------------------------------------------------------------------------
# Running one variant
# ---------------------------------------------------------------------------
@dataclass
class Variant:
    case: Case
    accel: str      # "tcg" | "kvm"
    state: str      # "S" | "run"

    @property
    def dirname(self) -> str:
        return "%s%s-%s" % (self.case.name, "-kvm" if self.accel == "kvm" else "", self.state)


def run_variant(v: Variant, out_dir: str, opts, versions: dict) -> dict:
    case = v.case
    argv = case.argv(v.accel, stopped=(v.state == "S"))
    rec = {
        "dir": v.dirname, "case": case.name, "state": v.state, "machine": case.machine,
        "target": case.target, "accel": v.accel, "argv": shlex.join(argv),
        "status": "failed", "error": None, "stderr": "", "settled": None,
        "settle_first_seen_s": None, "settle_confirmed_s": None, "note": case.note,
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
        "qemu_version": versions.get(case.target, ""),
    }
    case_dir = os.path.join(out_dir, v.dirname)
    if _aborting.is_set():
        rec["error"] = "aborted"
        return rec
    tmp = tempfile.mkdtemp(prefix="memspace-qref-")
    proc = None
    qmp = None
    stderr_path = os.path.join(tmp, "stderr.txt")
    outputs = {}
    t_start = time.monotonic()
    try:
        with open(stderr_path, "wb") as errf:
            proc = subprocess.Popen(argv, cwd=tmp, stdin=subprocess.DEVNULL,
                                    stdout=errf, stderr=errf, start_new_session=True)
        t_spawn = time.monotonic()
        _register(proc)

        # Wait for the QMP socket.
        sock_path = os.path.join(tmp, QMP_SOCKET)
        deadline = time.monotonic() + opts.start_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("QEMU exited with status %d during startup" % proc.returncode)
            if os.path.exists(sock_path):
                try:
                    qmp = QMP(sock_path, opts.cmd_timeout)
                    break
                except (ConnectionRefusedError, FileNotFoundError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("QMP socket did not come up within %ds" % opts.start_timeout)
            time.sleep(0.05)
        qmp.cmd("qmp_capabilities")

        last_poll = None
        if v.state == "run" and case.firmware_end:
            # Settle on the firmware's end marker in its debug log.  Times are
            # measured from QEMU's start (the log begins ~0.1 s after it).
            log_path = os.path.join(tmp, DEBUGCON_FILE)
            marker = case.firmware_end.encode("utf-8")
            seen = None
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("QEMU exited with status %d while the guest ran"
                                       % proc.returncode)
                now = time.monotonic() - t_spawn
                try:
                    with open(log_path, "rb") as f:
                        if marker in f.read():
                            seen = now
                except FileNotFoundError:
                    pass
                if seen is not None or now >= opts.firmware_timeout:
                    break
                time.sleep(0.05)
            if seen is not None:
                # The memory map at the marker, to check that the grace
                # period (and `stop`) did not change it.
                last_poll = canonical_flatviews(normalise(qmp.hmp("info mtree -f"),
                                                          "info mtree -f"))
                time.sleep(max(0.0, t_spawn + seen + FIRMWARE_GRACE_S - time.monotonic()))
            qmp.cmd("stop")
            rec["settle_rule"] = "firmware"
            rec["settled"] = seen is not None
            rec["firmware_end_s"] = round(seen, 2) if seen is not None else None
            rec["settle_first_seen_s"] = round(seen, 2) if seen is not None else None
            rec["settle_confirmed_s"] = round(time.monotonic() - t_spawn, 2)
        elif v.state == "run":
            t0 = time.monotonic()
            need = max(opts.settle_polls, case.settle_polls)
            prev = None
            streak = 0
            first_seen = 0.0
            settled = False
            polls = 0
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("QEMU exited with status %d while the guest ran"
                                       % proc.returncode)
                now = time.monotonic() - t0
                cur = canonical_flatviews(normalise(qmp.hmp("info mtree -f"), "info mtree -f"))
                polls += 1
                if cur == prev:
                    streak += 1
                else:
                    streak = 0
                    first_seen = now
                prev = cur
                if streak >= need:
                    settled = True
                    break
                if now >= opts.settle_timeout:
                    break
                time.sleep(max(0.0, t0 + polls * opts.poll_interval - time.monotonic()))
            rec["settled"] = settled
            rec["settle_first_seen_s"] = round(first_seen, 1)
            rec["settle_confirmed_s"] = round(time.monotonic() - t0, 1)
            rec["settle_polls"] = polls
            rec["settle_window"] = need
            qmp.cmd("stop")
            last_poll = prev

        for command, fname in case.captures:
            outputs[fname] = normalise(qmp.hmp(command), command)

        if last_poll is not None:
            if canonical_flatviews(outputs["mtree-f.txt"]) != last_poll:
                rec["note"] = (rec["note"] + "; " if rec["note"] else "") + \
                    ("mtree -f after 'stop' differs from the one at the firmware's end marker"
                     if case.firmware_end else
                     "mtree -f after 'stop' differs from the last poll")
        # Memslot changes seen up to the capture (QEMU writes the trace line
        # by line); compared below with the complete file after exit.
        trace_at_capture = None
        if v.accel == "kvm":
            try:
                with open(os.path.join(tmp, KVM_TRACE_FILE), "rb") as f:
                    trace_at_capture = f.read().count(b"kvm_set_user_memory ")
            except FileNotFoundError:
                trace_at_capture = 0

        try:
            qmp.cmd("quit")
        except QMPError:
            pass  # connection may close before the reply arrives
        qmp.close()
        qmp = None
        stop_process(proc)
        if proc.returncode not in (0, None):
            rec["note"] = (rec["note"] + "; " if rec["note"] else "") + \
                "QEMU exit status %d after quit" % proc.returncode

        # Write results (only now that everything succeeded).
        if os.path.isdir(case_dir):
            for f in OUTPUT_FILES:
                p = os.path.join(case_dir, f)
                if os.path.exists(p):
                    os.unlink(p)
        os.makedirs(case_dir, exist_ok=True)
        write_text(os.path.join(case_dir, "cmdline.txt"),
                   shlex.join(argv) + "\n" + versions.get(case.target, "") + "\n")
        for fname, text in outputs.items():
            write_text(os.path.join(case_dir, fname), text)
        if v.accel == "kvm":
            # The trace file was opened (fresh, in the new temp dir) before the
            # machine was built, so it holds every memslot change since QEMU
            # started; read it only now that QEMU has exited and flushed it.
            tp = os.path.join(tmp, KVM_TRACE_FILE)
            trace = ""
            if os.path.exists(tp):
                with open(tp, "rb") as f:
                    trace = f.read().decode("utf-8", "replace")
            trace = normalise(trace, KVM_TRACE_FILE)
            n = sum(1 for l in trace.split("\n") if l.startswith("kvm_set_user_memory "))
            if n == 0:
                raise RuntimeError("%s has no kvm_set_user_memory line" % KVM_TRACE_FILE)
            rec["kvm_set_user_memory_lines"] = n
            if trace_at_capture is not None and trace_at_capture != n:
                rec["note"] = (rec["note"] + "; " if rec["note"] else "") + \
                    "%d kvm_set_user_memory lines at capture, %d after quit" % (trace_at_capture, n)
            write_text(os.path.join(case_dir, KVM_TRACE_FILE), trace)
        if case.firmware_end:
            lp = os.path.join(tmp, DEBUGCON_FILE)
            log = ""
            if os.path.exists(lp):
                with open(lp, "rb") as f:
                    log = f.read().decode("utf-8", "replace")
            write_text(os.path.join(case_dir, DEBUGCON_FILE), normalise(log, DEBUGCON_FILE))
        rec["status"] = "ok"
    except Exception as e:  # record and carry on with the next case
        rec["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if qmp is not None:
            try:
                qmp.close()
            except Exception:
                pass
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            _unregister(proc)
            if proc.poll() is None:
                rec["error"] = (rec["error"] or "") + " [QEMU pid %d could not be killed]" % proc.pid
        try:
            with open(stderr_path, "rb") as f:
                rec["stderr"] = f.read().decode("utf-8", "replace").replace("\r\n", "\n").strip()
        except OSError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)
    rec["elapsed_s"] = round(time.monotonic() - t_start, 1)
    if rec["status"] != "ok" and os.path.isdir(case_dir):
        # Never leave stale output from an earlier run next to a failure.
        for f in OUTPUT_FILES:
            p = os.path.join(case_dir, f)
            if os.path.exists(p):
                os.unlink(p)
        try:
            os.rmdir(case_dir)
        except OSError:
            pass
    return rec


# ---------------------------------------------------------------------------
# Environment probing
# ---------------------------------------------------------------------------
def qemu_version(binary: str) -> str:
    try:
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        return r.stdout.splitlines()[0].strip() if r.stdout else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def kvm_status():
    """Returns (usable: bool, explanation: str)."""
    if not os.path.exists("/dev/kvm"):
        return False, "/dev/kvm does not exist on this host"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm exists but is not readable and writable by this user"
    return True, "/dev/kvm is present and accessible"


def firmware_packages() -> List[str]:
    pkgs = ["seabios", "ipxe-qemu", "qemu-system-data", "qemu-efi-aarch64"]
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"] + pkgs,
                           capture_output=True, text=True, timeout=30)
        return [l for l in r.stdout.splitlines() if l.strip()]
    except (OSError, subprocess.TimeoutExpired):
        return []


# ---------------------------------------------------------------------------
# Index
# ---------------------------------------------------------------------------
def md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def settle_text(r: dict, default_window: int) -> str:
    if r["state"] != "run":
        return "n/a"
    if r.get("settled") is None:
        return "-"
    if r.get("settle_rule") == "firmware":
        if r["settled"]:
            return "yes, firmware end at %gs (stopped at %gs)" % (
                r["firmware_end_s"], r["settle_confirmed_s"])
        return "**no** (no firmware end marker after %gs; captured anyway)" % \
            r["settle_confirmed_s"]
    if r["settled"]:
        return "yes, %gs (state reached at %gs%s)" % (
            r["settle_confirmed_s"], r["settle_first_seen_s"],
            "; %d-poll window" % r["settle_window"]
            if r.get("settle_window", default_window) != default_window else "")
    return "**no** (timeout after %gs; captured anyway)" % r["settle_confirmed_s"]


def write_index(out_dir: str, records: List[dict], meta: dict) -> None:
    order = {}
    for i, c in enumerate(CASES):
        for j, d in enumerate(("%s-S", "%s-run", "%s-kvm-S", "%s-kvm-run")):
            order[d % c.name] = (i, j)
    records = sorted(records, key=lambda r: order.get(r["dir"], (10**6, r["dir"])))

    with open(os.path.join(out_dir, "index.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump({"meta": meta, "cases": records}, f, indent=2, sort_keys=True)
        f.write("\n")

    L = []
    L.append("# QEMU 7.2 memory-API reference outputs")
    L.append("")
    L.append("Generated by `tools/qemu-reference/generate.py`; do not edit by hand "
             "(see `tools/qemu-reference/README.md`). Machine-readable copy: `index.json`.")
    L.append("")
    L.append("- Last run: %s (UTC)" % meta["date"])
    L.append("- Host: %s" % meta["host"])
    for t, ver in sorted(meta["qemu_versions"].items()):
        L.append("- `%s`: %s" % (BINARIES[t], ver or "(not found)"))
    if meta.get("firmware"):
        L.append("- Firmware packages: %s" % ", ".join("`%s`" % p for p in meta["firmware"]))
    L.append("- KVM: %s" % meta["kvm"])
    L.append("- Settle rule (`-run`): `info mtree -f` polled every %gs until unchanged for %d "
             "consecutive polls (FlatView order/numbering ignored), timeout %gs; then `stop` "
             "and capture." % (meta["poll_interval"], meta["settle_polls"], meta["settle_timeout"]))
    if "firmware_timeout" in meta:
        L.append("- Settle rule (`-firmware-run`, `-firmware-kvm-run`): wait until the SeaBIOS "
                 "debug log (`debugcon.txt`) contains \"%s\", %gs more, then `stop` and capture; "
                 "timeout %gs (times counted from QEMU's start)."
                 % (SEABIOS_END, FIRMWARE_GRACE_S, meta["firmware_timeout"]))
    L.append("")
    L.append("## Cases")
    L.append("")
    L.append("| dir | state | machine | accel | status | settled | date | argv |")
    L.append("|---|---|---|---|---|---|---|---|")
    for r in records:
        L.append("| `%s` | %s | `%s` | %s | %s | %s | %s | `%s` |" % (
            r["dir"], r["state"], md_escape(r["machine"]), r["accel"],
            "ok" if r["status"] == "ok" else "**FAILED**", settle_text(r, meta["settle_polls"]),
            r.get("generated", ""), md_escape(r["argv"])))
    L.append("")
    L.append("## Notes")
    L.append("")
    def names(ns):
        return ", ".join("`%s`" % n for n in ns) or "none"
    if meta["kvm_usable"]:
        L.append("- KVM variants (`-kvm-S`/`-kvm-run`, with `kvm-trace.txt`) are generated on this "
                 "%s host for: %s." % (meta["host_arch"], names(meta["kvm_candidates"])))
    else:
        L.append("- **KVM variants skipped**: %s. No `-kvm-S`/`-kvm-run` directories and no "
                 "`kvm-trace.txt` files were produced in this run." % meta["kvm"])
    for t, hosts in sorted(KVM_HOST_FOR_TARGET.items()):
        ns = [c.name for c in CASES if c.target == t and c.kvm]
        if not ns or not hosts:
            continue
        if meta["kvm_usable"] and meta["host_arch"] in hosts:
            continue
        L.append("- On an %s host with usable /dev/kvm these `%s` cases get KVM variants: %s."
                 % (t, BINARIES[t], names(ns)))
    for c in CASES:
        if not c.kvm:
            L.append("- `%s`: never run under KVM: %s." % (c.name, c.kvm_why_not))
    for r in records:
        if r["status"] != "ok":
            L.append("- **`%s` failed**: %s" % (r["dir"], r["error"]))
            if r.get("stderr"):
                L.append("")
                L.append("  ```")
                for line in r["stderr"].splitlines()[:15]:
                    L.append("  " + line)
                L.append("  ```")
                L.append("")
    for r in records:
        if r["state"] == "run" and r["status"] == "ok" and r.get("settled") is False:
            if r.get("settle_rule") == "firmware":
                L.append("- `%s`: the firmware did not print \"%s\" within %gs; its outputs "
                         "were captured anyway." % (r["dir"], SEABIOS_END, r["settle_confirmed_s"]))
            else:
                L.append("- `%s` did not settle within %gs; its outputs were captured anyway."
                         % (r["dir"], meta["settle_timeout"]))
    traced = [r for r in records if r["status"] == "ok" and r.get("kvm_set_user_memory_lines")]
    if traced:
        L.append("- `kvm_set_user_memory` lines per `kvm-trace.txt`: %s."
                 % ", ".join("`%s` %d" % (r["dir"], r["kvm_set_user_memory_lines"]) for r in traced))
    seen_notes = set()
    for r in records:
        if r.get("note") and (r["case"], r["note"]) not in seen_notes:
            seen_notes.add((r["case"], r["note"]))
            L.append("- `%s`: %s." % (r["case"], r["note"]))
    for r in records:
        if r["status"] == "ok" and r.get("stderr"):
            L.append("- `%s` stderr: `%s`" % (r["dir"], md_escape(" / ".join(r["stderr"].splitlines()))))
    for s in meta.get("stale", []):
        L.append("- `%s/` is not produced by the current case table (stale; remove it or "
                 "use `--prune`)." % s)
    L.append("")
    with open(os.path.join(out_dir, "INDEX.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(L))


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
def matches(patterns: List[str], names: List[str]) -> bool:
    if not patterns:
        return True
    for p in patterns:
        pat = p if any(ch in p for ch in "*?[") else "*%s*" % p
        if any(fnmatch.fnmatchcase(n, pat) for n in names):
            return True
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], metavar="PATTERN",
                    help="run only variants whose dir name or case name matches PATTERN "
                         "(glob; without wildcards: substring). May be repeated.")
    ap.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                    help="output directory (default: %(default)s)")
    ap.add_argument("--list", action="store_true", help="list variants and their argv, run nothing")
    ap.add_argument("--jobs", type=int, default=2, help="QEMUs run at once (default 2)")
    ap.add_argument("--kvm", choices=("auto", "on", "off"), default="auto",
                    help="KVM variants: auto-detect /dev/kvm (default), force, or skip")
    ap.add_argument("--settle-polls", type=int, default=3)
    ap.add_argument("--settle-timeout", type=float, default=60.0)
    ap.add_argument("--poll-interval", type=float, default=1.0)
    ap.add_argument("--firmware-timeout", type=float, default=60.0,
                    help="firmware cases: seconds to wait for the end marker (default 60)")
    ap.add_argument("--start-timeout", type=float, default=30.0)
    ap.add_argument("--cmd-timeout", type=float, default=120.0)
    ap.add_argument("--prune", action="store_true",
                    help="delete case dirs in --out that the case table no longer produces")
    opts = ap.parse_args()

    host = platform.machine()
    if opts.kvm == "off":
        kvm_usable, kvm_msg = False, "disabled with --kvm off"
    elif opts.kvm == "on":
        kvm_usable, kvm_msg = True, "forced with --kvm on (%s)" % kvm_status()[1]
    else:
        kvm_usable, kvm_msg = kvm_status()
    kvm_candidates = [c.name for c in CASES if c.kvm and host in KVM_HOST_FOR_TARGET[c.target]]

    variants: List[Variant] = []
    for c in CASES:
        accels = ["tcg"] + (["kvm"] if kvm_usable and c.name in kvm_candidates else [])
        for accel in accels:
            for state in ("S", "run"):
                v = Variant(c, accel, state)
                if matches(opts.only, [v.dirname, c.name]):
                    variants.append(v)

    if opts.list:
        for v in variants:
            print("%-48s %s" % (v.dirname, shlex.join(v.case.argv(v.accel, v.state == "S"))))
        return 0
    if not variants:
        print("no variant matches", file=sys.stderr)
        return 2

    out_dir = os.path.abspath(opts.out)
    os.makedirs(out_dir, exist_ok=True)
    targets = sorted({v.case.target for v in variants} | {c.target for c in CASES})
    versions = {t: qemu_version(BINARIES[t]) for t in targets}

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)

    records = []
    jobs = max(1, min(opts.jobs, 2))  # never more than 2 QEMUs at once
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futs = [ex.submit(run_variant, v, out_dir, opts, versions) for v in variants]
        for fut in concurrent.futures.as_completed(futs):
            r = fut.result()
            records.append(r)
            extra = ""
            if r["state"] == "run" and r["status"] == "ok":
                extra = " settled=%s@%ss" % (r["settled"], r["settle_confirmed_s"])
                if r.get("firmware_end_s") is not None:
                    extra += " end@%ss" % r["firmware_end_s"]
            if r.get("kvm_set_user_memory_lines"):
                extra += " slots=%d" % r["kvm_set_user_memory_lines"]
            print("%-48s %s%s (%ss)%s" % (r["dir"], r["status"], extra, r["elapsed_s"],
                                          (" " + r["error"]) if r["error"] else ""),
                  flush=True)
    except KeyboardInterrupt:
        print("interrupted; killing QEMU processes", file=sys.stderr)
        _aborting.set()
        ex.shutdown(wait=False, cancel_futures=True)
        kill_all_live()
        ex.shutdown(wait=True)
        kill_all_live()
        return 130
    finally:
        ex.shutdown(wait=True)
        kill_all_live()

    # Merge with the existing index so --only runs keep the other entries.
    old = {}
    idx_path = os.path.join(out_dir, "index.json")
    if os.path.exists(idx_path):
        try:
            with open(idx_path, encoding="utf-8") as f:
                for r in json.load(f).get("cases", []):
                    old[r["dir"]] = r
        except (OSError, ValueError, KeyError):
            old = {}
    for r in records:
        old[r["dir"]] = r

    produced = set()
    for c in CASES:
        for suffix in ("S", "run", "kvm-S", "kvm-run"):
            produced.add("%s-%s" % (c.name, suffix))
    stale = []
    for d in sorted(os.listdir(out_dir)):
        p = os.path.join(out_dir, d)
        if os.path.isdir(p) and d not in produced and os.path.exists(os.path.join(p, "cmdline.txt")):
            if opts.prune:
                shutil.rmtree(p)
            else:
                stale.append(d)
    merged = [r for d, r in old.items() if d in produced]

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "host": "%s, Linux %s" % (host, platform.release()),
        "host_arch": host,
        "qemu_versions": versions,
        "firmware": firmware_packages(),
        "kvm": kvm_msg,
        "kvm_usable": kvm_usable,
        "kvm_candidates": kvm_candidates,
        "settle_polls": opts.settle_polls,
        "settle_timeout": opts.settle_timeout,
        "poll_interval": opts.poll_interval,
        "firmware_timeout": opts.firmware_timeout,
        "stale": stale,
    }
    write_index(out_dir, merged, meta)
    failed = [r for r in records if r["status"] != "ok"]
    print("%d variants, %d failed; index: %s" % (len(records), len(failed),
                                                os.path.join(out_dir, "INDEX.md")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
