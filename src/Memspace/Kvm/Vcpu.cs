using System.Runtime.InteropServices;
using Memspace.Interop;

namespace Memspace.Kvm;

/// <summary>
/// A KVM vCPU whose exits are served by the address spaces: port I/O by the I/O address space, MMIO
/// by the memory address space, as QEMU's <c>kvm_cpu_exec</c> does. It can run on its own thread and
/// be paused (for example while the topology changes) and resumed.
/// </summary>
public sealed unsafe class Vcpu : IDisposable
{
    private const int Eintr = 4;
    private const int Eagain = 11;
    private const int E2big = 7;

    private static readonly bool s_kickInstalled = Libc.InstallKickHandler(Libc.Sigusr2);

    private readonly KvmVm _vm;
    private readonly ManualResetEventSlim _parked = new(false);
    private readonly ManualResetEventSlim _resume = new(false);
    private readonly ManualResetEventSlim _done = new(false);
    private int _fd;
    private byte* _run;
    private volatile bool _pauseRequested;
    private volatile bool _stopRequested;
    private nuint _thread;
    private Thread? _runner;

    internal Vcpu(KvmVm vm, int index, AddressSpace memory, AddressSpace io)
    {
        _vm = vm;
        Index = index;
        Memory = memory;
        Io = io;
        _fd = Libc.IoctlOrThrow(vm.VmFd, KvmAbi.CreateVcpu, index, "KVM_CREATE_VCPU");
        try
        {
            _run = (byte*)Libc.Mmap(0, (ulong)vm.VcpuMmapSize, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, _fd, 0, "kvm_run");
            SetSupportedCpuid();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>vCPU id.</summary>
    public int Index { get; }

    /// <summary>The vCPU file descriptor, for callers that issue their own vCPU ioctls (benchmarks, debuggers).</summary>
    public int Fd => _fd;

    /// <summary>Where MMIO exits go.</summary>
    public AddressSpace Memory { get; }

    /// <summary>Where port I/O exits go.</summary>
    public AddressSpace Io { get; }

    /// <summary>Why the run loop ended, once it has.</summary>
    public VcpuStop? StopState { get; private set; }

    /// <summary>Raised on the vCPU thread after every exit, once it has been served.</summary>
    public event Action<VcpuExit>? Exited;

    /// <summary>The general-purpose registers (<c>KVM_GET_REGS</c>).</summary>
    public KvmRegs GetRegs()
    {
        KvmRegs regs;
        Libc.IoctlOrThrow(_fd, KvmAbi.GetRegs, (nint)(&regs), "KVM_GET_REGS");
        return regs;
    }

    /// <summary>Sets the general-purpose registers (<c>KVM_SET_REGS</c>).</summary>
    /// <param name="regs">The registers.</param>
    public void SetRegs(in KvmRegs regs)
    {
        KvmRegs r = regs;
        Libc.IoctlOrThrow(_fd, KvmAbi.SetRegs, (nint)(&r), "KVM_SET_REGS");
    }

    /// <summary>The segment and control registers (<c>KVM_GET_SREGS</c>).</summary>
    public KvmSregs GetSregs()
    {
        KvmSregs sregs;
        Libc.IoctlOrThrow(_fd, KvmAbi.GetSregs, (nint)(&sregs), "KVM_GET_SREGS");
        return sregs;
    }

    /// <summary>Sets the segment and control registers (<c>KVM_SET_SREGS</c>).</summary>
    /// <param name="sregs">The registers.</param>
    public void SetSregs(in KvmSregs sregs)
    {
        KvmSregs s = sregs;
        Libc.IoctlOrThrow(_fd, KvmAbi.SetSregs, (nint)(&s), "KVM_SET_SREGS");
    }

    /// <summary>Starts in real mode at <paramref name="segment"/>:<paramref name="offset"/> with flat data segments at 0.</summary>
    /// <param name="segment">Code segment.</param>
    /// <param name="offset">Instruction pointer.</param>
    public void SetRealMode(ushort segment, ushort offset)
    {
        KvmSregs s = GetSregs();
        s.Cs.Base = (ulong)segment << 4;
        s.Cs.Selector = segment;
        s.Ds.Base = s.Es.Base = s.Ss.Base = s.Fs.Base = s.Gs.Base = 0;
        s.Ds.Selector = s.Es.Selector = s.Ss.Selector = s.Fs.Selector = s.Gs.Selector = 0;
        SetSregs(s);
        SetRegs(new KvmRegs { Rip = offset, Rflags = 2 });
    }

    /// <summary>
    /// Runs the guest once: enters KVM and serves the exit (port I/O, MMIO) through the address spaces.
    /// </summary>
    public VcpuExit RunOnce()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int r = Libc.Ioctl(_fd, KvmAbi.Run, 0);
        if (r < 0)
        {
            if (-r is Eintr or Eagain)
            {
                _run[KvmAbi.RunImmediateExit] = 0;
                return new VcpuExit(VcpuExitKind.Interrupted);
            }
            return new VcpuExit(VcpuExitKind.Failed, Detail: $"KVM_RUN failed: {Marshal.GetPInvokeErrorMessage(-r)} (errno {-r})");
        }
        int reason = *(int*)(_run + KvmAbi.RunExitReason);
        return reason switch
        {
            KvmAbi.ExitIo => ServeIo(),
            KvmAbi.ExitMmio => ServeMmio(),
            KvmAbi.ExitHlt => new VcpuExit(VcpuExitKind.Halt),
            KvmAbi.ExitShutdown => new VcpuExit(VcpuExitKind.Shutdown, Detail: "triple fault or shutdown"),
            KvmAbi.ExitFailEntry => new VcpuExit(VcpuExitKind.FailEntry, Detail: $"hardware entry failure reason 0x{*(ulong*)(_run + KvmAbi.RunFailEntryReason):x}"),
            KvmAbi.ExitInternalError => InternalError(),
            KvmAbi.ExitSystemEvent => new VcpuExit(VcpuExitKind.SystemEvent, Detail: *(uint*)(_run + KvmAbi.RunSystemEventType) switch
            {
                1 => "shutdown",
                2 => "reset",
                3 => "crash",
                uint t => $"type {t}",
            }),
            KvmAbi.ExitIntr => new VcpuExit(VcpuExitKind.Interrupted),
            _ => new VcpuExit(VcpuExitKind.Unhandled, Detail: $"exit reason {reason}"),
        };
    }

    /// <summary>
    /// Runs until the guest halts, shuts down, fails, or <see cref="Stop"/> is called; honours
    /// <see cref="Pause"/>. Returns why it stopped.
    /// </summary>
    public VcpuStop Run()
    {
        _thread = Libc.PthreadSelf();
        while (true)
        {
            if (_stopRequested)
            {
                return Finish(new VcpuStop(VcpuStopReason.Stopped, "stop requested"));
            }
            if (_pauseRequested)
            {
                _resume.Reset();
                _parked.Set();
                while (_pauseRequested && !_stopRequested)
                {
                    _resume.Wait(TimeSpan.FromMilliseconds(100));
                }
                _parked.Reset();
                continue;
            }
            VcpuExit exit = RunOnce();
            Exited?.Invoke(exit);
            VcpuStopReason? stop = exit.Kind switch
            {
                VcpuExitKind.Halt => VcpuStopReason.Halted,
                VcpuExitKind.Shutdown => VcpuStopReason.Shutdown,
                VcpuExitKind.FailEntry => VcpuStopReason.FailEntry,
                VcpuExitKind.InternalError => VcpuStopReason.InternalError,
                VcpuExitKind.SystemEvent => VcpuStopReason.SystemEvent,
                VcpuExitKind.Unhandled or VcpuExitKind.Failed => VcpuStopReason.Unhandled,
                _ => null,
            };
            if (stop is { } why)
            {
                return Finish(new VcpuStop(why, exit.Detail ?? why.ToString()));
            }
        }
    }

    /// <summary>Runs <see cref="Run"/> on a new thread.</summary>
    public void Start()
    {
        if (_runner is not null)
        {
            throw new InvalidOperationException($"vCPU {Index} is already running");
        }
        _done.Reset();
        _runner = new Thread(() => Run()) { IsBackground = true, Name = $"vcpu{Index}" };
        _runner.Start();
    }

    /// <summary>Waits for the run thread to end; null if it has not within <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long to wait.</param>
    public VcpuStop? Join(TimeSpan timeout) => _done.Wait(timeout) ? StopState : null;

    /// <summary>
    /// Stops the vCPU between two exits and waits until it is parked (or has stopped): the guest does not
    /// run until <see cref="Resume"/>. Returns false if it did not park within <paramref name="timeout"/>.
    /// </summary>
    /// <param name="timeout">How long to wait.</param>
    public bool Pause(TimeSpan timeout)
    {
        _pauseRequested = true;
        Kick();
        return WaitHandle.WaitAny([_parked.WaitHandle, _done.WaitHandle], timeout) != WaitHandle.WaitTimeout;
    }

    /// <summary>Lets a paused vCPU run again.</summary>
    public void Resume()
    {
        _pauseRequested = false;
        _resume.Set();
    }

    /// <summary>Ends the run loop at the next exit (kicking the vCPU out of the guest).</summary>
    public void Stop()
    {
        _stopRequested = true;
        _resume.Set();
        Kick();
    }

    private void Kick()
    {
        if (_run is not null)
        {
            // Makes the next KVM_RUN return at once, in case the signal lands before it.
            _run[KvmAbi.RunImmediateExit] = 1;
        }
        if (s_kickInstalled && _thread != 0 && !_done.IsSet)
        {
            Libc.PthreadKill(_thread, Libc.Sigusr2);
        }
    }

    private VcpuStop Finish(VcpuStop stop)
    {
        StopState = stop;
        _done.Set();
        return stop;
    }

    /// <summary>QEMU's <c>kvm_handle_io</c>: each of <c>count</c> items goes to the I/O address space.</summary>
    private VcpuExit ServeIo()
    {
        byte direction = _run[KvmAbi.RunIoDirection];
        byte size = _run[KvmAbi.RunIoSize];
        ushort port = *(ushort*)(_run + KvmAbi.RunIoPort);
        uint count = *(uint*)(_run + KvmAbi.RunIoCount);
        ulong dataOffset = *(ulong*)(_run + KvmAbi.RunIoDataOffset);
        if (size is not (1 or 2 or 4) || count == 0 || dataOffset + ((ulong)count * size) > (ulong)_vm.VcpuMmapSize)
        {
            return new VcpuExit(VcpuExitKind.Unhandled, Detail: $"malformed port I/O exit: port 0x{port:x} size {size} count {count}");
        }
        bool isWrite = direction == KvmAbi.IoOut;
        MemTxResult result = MemTxResult.Ok;
        byte* data = _run + dataOffset;
        for (uint i = 0; i < count; i++)
        {
            var item = new Span<byte>(data + (i * size), size);
            result |= isWrite ? Io.Write(port, item, MemTxAttrs.UnspecifiedAttrs) : Io.Read(port, item, MemTxAttrs.UnspecifiedAttrs);
        }
        ulong value = 0;
        new ReadOnlySpan<byte>(data, size).CopyTo(new Span<byte>(&value, 8));
        return new VcpuExit(VcpuExitKind.Io, Address: port, Size: size, Count: count, IsWrite: isWrite, Data: value, Result: result);
    }

    /// <summary>QEMU's MMIO exit: the bytes go to the memory address space.</summary>
    private VcpuExit ServeMmio()
    {
        ulong address = *(ulong*)(_run + KvmAbi.RunMmioPhysAddr);
        uint length = *(uint*)(_run + KvmAbi.RunMmioLen);
        bool isWrite = _run[KvmAbi.RunMmioIsWrite] != 0;
        if (length is 0 or > 8)
        {
            return new VcpuExit(VcpuExitKind.Unhandled, Detail: $"malformed MMIO exit: 0x{address:x} length {length}");
        }
        var data = new Span<byte>(_run + KvmAbi.RunMmioData, (int)length);
        MemTxResult result = isWrite ? Memory.Write(address, data, MemTxAttrs.UnspecifiedAttrs) : Memory.Read(address, data, MemTxAttrs.UnspecifiedAttrs);
        ulong value = 0;
        data.CopyTo(new Span<byte>(&value, 8));
        return new VcpuExit(VcpuExitKind.Mmio, Address: address, Size: length, Count: 1, IsWrite: isWrite, Data: value, Result: result);
    }

    private VcpuExit InternalError()
    {
        uint suberror = *(uint*)(_run + KvmAbi.RunInternalSuberror);
        string detail = $"KVM internal error, suberror {suberror}";
        if (suberror == KvmAbi.InternalErrorEmulation)
        {
            byte size = _run[KvmAbi.RunEmulationInsnSize];
            ulong flags = *(ulong*)(_run + KvmAbi.RunInternalData);
            detail = "emulation failure";
            if ((flags & 1) != 0 && size is > 0 and <= 15)
            {
                detail += ", instruction bytes " + Convert.ToHexString(new ReadOnlySpan<byte>(_run + KvmAbi.RunEmulationInsnBytes, size)).ToLowerInvariant();
            }
        }
        KvmRegs regs = GetRegs();
        return new VcpuExit(VcpuExitKind.InternalError, Address: regs.Rip, Detail: $"{detail} at rip 0x{regs.Rip:x}");
    }

    /// <summary>Gives the vCPU the CPUID KVM supports (<c>KVM_GET_SUPPORTED_CPUID</c>, <c>KVM_SET_CPUID2</c>).</summary>
    private void SetSupportedCpuid()
    {
        for (int n = 256; n <= 4096; n *= 2)
        {
            int bytes = 8 + (n * sizeof(KvmCpuidEntry2));
            byte* buffer = (byte*)NativeMemory.AllocZeroed((nuint)bytes);
            try
            {
                *(uint*)buffer = (uint)n;
                int r = Libc.Ioctl(_vm.KvmFd, KvmAbi.GetSupportedCpuid, (nint)buffer);
                if (r == -E2big)
                {
                    continue;
                }
                if (r < 0)
                {
                    throw new KvmException($"KVM_GET_SUPPORTED_CPUID failed: errno {-r}");
                }
                uint count = *(uint*)buffer;
                var entries = (KvmCpuidEntry2*)(buffer + 8);
                for (uint i = 0; i < count; i++)
                {
                    if (entries[i].Function == 1)
                    {
                        // Initial APIC id in EBX[31:24].
                        entries[i].Ebx = (entries[i].Ebx & 0x00ffffff) | ((uint)Index << 24);
                    }
                }
                Libc.IoctlOrThrow(_fd, KvmAbi.SetCpuid2, (nint)buffer, "KVM_SET_CPUID2");
                return;
            }
            finally
            {
                NativeMemory.Free(buffer);
            }
        }
        throw new KvmException("KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
    }

    /// <summary>Stops the run thread and closes the vCPU.</summary>
    public void Dispose()
    {
        if (_runner is { IsAlive: true })
        {
            Stop();
            _runner.Join(TimeSpan.FromSeconds(10));
        }
        if (_run is not null)
        {
            Libc.Munmap((nint)_run, (ulong)_vm.VcpuMmapSize);
            _run = null;
        }
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Libc.Close(fd);
        }
    }
}
