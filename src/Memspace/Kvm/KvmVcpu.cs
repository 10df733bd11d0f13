using System.Runtime.InteropServices;
using Memspace.Interop;
using Memspace.Vcpus;

namespace Memspace.Kvm;

/// <summary>
/// A vCPU on <c>/dev/kvm</c> (QEMU's <c>kvm_vcpu_init</c> and the KVM half of <c>kvm_cpu_exec</c>):
/// its file descriptor, its mapped <c>kvm_run</c>, <c>KVM_RUN</c> and the kick that interrupts it, and
/// the register ioctls. Exits are decoded by <see cref="KvmRunDecoder"/> and served by
/// <see cref="ExitServer"/> through <see cref="Vcpu"/>.
/// </summary>
internal sealed partial class KvmVcpu : IVcpuBackend, IVcpuStateBackend
{
    private static readonly bool s_kickInstalled = Libc.InstallKickHandler(Libc.Sigusr2);

    private readonly KvmVm _vm;
    private readonly int _mmapSize;
    private int _fd;
    private nint _run;
    private nuint _thread;
    private int _threadId;

    public KvmVcpu(KvmVm vm, int index)
    {
        _vm = vm;
        Index = index;
        _mmapSize = vm.VcpuMmapSize;
        _fd = vm.Ioctl(KvmAbi.CreateVcpu, index, "KVM_CREATE_VCPU", $"vCPU {index}");
        try
        {
            if (_mmapSize < KvmRunDecoder.MinimumLength)
            {
                throw new KvmException($"KVM_GET_VCPU_MMAP_SIZE reports {_mmapSize} bytes, less than struct kvm_run needs");
            }
            _run = Libc.Mmap(0, (ulong)_mmapSize, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, _fd, 0, "kvm_run");
            SetSupportedCpuid();
        }
        catch (HostCallException e)
        {
            Dispose();
            throw new KvmException(e.Call, e.Errno, $"vCPU {index}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Index { get; }

    /// <summary>The vCPU file descriptor, for benchmarks that issue their own <c>KVM_RUN</c>.</summary>
    internal int Fd => _fd;

    /// <summary>The <c>kvm_run</c> mapping.</summary>
    // SAFETY: _run maps _mmapSize bytes from construction until Dispose, and only the vCPU's own thread
    // (Run) or its owner after the thread has ended uses the span; Dispose unmaps it only after that.
    private unsafe Span<byte> RunPage => new((void*)_run, _mmapSize);

    public PendingExit Run()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        int id = Environment.CurrentManagedThreadId;
        if (id != _threadId)
        {
            // The thread a kick must reach: looked up once per thread that runs the vCPU, not per exit.
            _thread = Libc.PthreadSelf();
            _threadId = id;
        }
        // This KVM_RUN completes whatever I/O the previous exit left pending.
        _completionPending = false;
        int r = Libc.Ioctl(_fd, KvmAbi.Run, 0);
        Span<byte> run = RunPage;
        if (r < 0)
        {
            if (-r is Libc.Eintr or Libc.Eagain)
            {
                run[KvmAbi.RunImmediateExit] = 0;
                return new PendingExit(VcpuExitKind.Interrupted);
            }
            return new PendingExit(VcpuExitKind.Failed, detail: $"KVM_RUN failed: {HostCallException.ErrorText(-r)} (errno {-r})");
        }
        PendingExit exit = KvmRunDecoder.Decode(run);
        _completionPending = exit.Kind is VcpuExitKind.Io or VcpuExitKind.Mmio;
        if (exit.Kind == VcpuExitKind.InternalError)
        {
            ulong rip = GetRegisters().Rip;
            return new PendingExit(VcpuExitKind.InternalError, rip, detail: $"{exit.Detail} at rip 0x{rip:x}");
        }
        return exit;
    }

    public void Kick()
    {
        if (_run == 0)
        {
            return;
        }
        // Makes the next KVM_RUN return at once, in case the signal lands before it.
        RunPage[KvmAbi.RunImmediateExit] = 1;
        if (s_kickInstalled && _thread != 0)
        {
            Libc.PthreadKill(_thread, Libc.Sigusr2);
        }
    }

    public X86Registers GetRegisters()
    {
        KvmRegs r = default;
        VcpuIoctl(KvmAbi.GetRegs, ref r, "KVM_GET_REGS");
        return new X86Registers
        {
            Rax = r.Rax, Rbx = r.Rbx, Rcx = r.Rcx, Rdx = r.Rdx, Rsi = r.Rsi, Rdi = r.Rdi, Rsp = r.Rsp, Rbp = r.Rbp,
            R8 = r.R8, R9 = r.R9, R10 = r.R10, R11 = r.R11, R12 = r.R12, R13 = r.R13, R14 = r.R14, R15 = r.R15,
            Rip = r.Rip, Rflags = r.Rflags,
        };
    }

    public void SetRegisters(in X86Registers x)
    {
        var r = new KvmRegs
        {
            Rax = x.Rax, Rbx = x.Rbx, Rcx = x.Rcx, Rdx = x.Rdx, Rsi = x.Rsi, Rdi = x.Rdi, Rsp = x.Rsp, Rbp = x.Rbp,
            R8 = x.R8, R9 = x.R9, R10 = x.R10, R11 = x.R11, R12 = x.R12, R13 = x.R13, R14 = x.R14, R15 = x.R15,
            Rip = x.Rip, Rflags = x.Rflags,
        };
        VcpuIoctl(KvmAbi.SetRegs, ref r, "KVM_SET_REGS");
    }

    public X86SystemRegisters GetSystemRegisters()
    {
        KvmSregs s = default;
        VcpuIoctl(KvmAbi.GetSregs, ref s, "KVM_GET_SREGS");
        return new X86SystemRegisters
        {
            Cs = From(s.Cs), Ds = From(s.Ds), Es = From(s.Es), Fs = From(s.Fs), Gs = From(s.Gs), Ss = From(s.Ss),
            Tr = From(s.Tr), Ldt = From(s.Ldt),
            Gdt = new X86DescriptorTable(s.Gdt.Base, s.Gdt.Limit), Idt = new X86DescriptorTable(s.Idt.Base, s.Idt.Limit),
            Cr0 = s.Cr0, Cr2 = s.Cr2, Cr3 = s.Cr3, Cr4 = s.Cr4, Cr8 = s.Cr8, Efer = s.Efer, ApicBase = s.ApicBase,
        };
    }

    public void SetSystemRegisters(in X86SystemRegisters x)
    {
        // Read first: the interrupt bitmap (pending external interrupts) must go back unchanged.
        KvmSregs s = default;
        VcpuIoctl(KvmAbi.GetSregs, ref s, "KVM_GET_SREGS");
        s.Cs = To(x.Cs);
        s.Ds = To(x.Ds);
        s.Es = To(x.Es);
        s.Fs = To(x.Fs);
        s.Gs = To(x.Gs);
        s.Ss = To(x.Ss);
        s.Tr = To(x.Tr);
        s.Ldt = To(x.Ldt);
        s.Gdt = new KvmDtable { Base = x.Gdt.Base, Limit = x.Gdt.Limit };
        s.Idt = new KvmDtable { Base = x.Idt.Base, Limit = x.Idt.Limit };
        s.Cr0 = x.Cr0;
        s.Cr2 = x.Cr2;
        s.Cr3 = x.Cr3;
        s.Cr4 = x.Cr4;
        s.Cr8 = x.Cr8;
        s.Efer = x.Efer;
        s.ApicBase = x.ApicBase;
        VcpuIoctl(KvmAbi.SetSregs, ref s, "KVM_SET_SREGS");
    }

    private static X86Segment From(in KvmSegment k) => new()
    {
        Base = k.Base, Limit = k.Limit, Selector = k.Selector, Type = k.Type, Present = k.Present != 0, Dpl = k.Dpl,
        Db = k.Db != 0, S = k.S != 0, L = k.L != 0, G = k.G != 0, Avl = k.Avl != 0, Unusable = k.Unusable != 0,
    };

    private static KvmSegment To(in X86Segment x) => new()
    {
        Base = x.Base, Limit = x.Limit, Selector = x.Selector, Type = x.Type, Present = B(x.Present), Dpl = x.Dpl,
        Db = B(x.Db), S = B(x.S), L = B(x.L), G = B(x.G), Avl = B(x.Avl), Unusable = B(x.Unusable),
    };

    private static byte B(bool b) => b ? (byte)1 : (byte)0;

    /// <summary>A vCPU ioctl whose argument is a struct passed by pointer; throws <see cref="KvmException"/> on failure.</summary>
    // SAFETY: the struct lives on the caller's stack for the whole call (a ref to a local) and has the
    // layout the ioctl expects (checked against <linux/kvm.h> by KvmAbiLayoutTests).
    private unsafe void VcpuIoctl<T>(uint request, ref T arg, string name) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        fixed (T* p = &arg)
        {
            int r = Libc.Ioctl(_fd, request, (nint)p);
            if (r < 0)
            {
                throw new KvmException(name, -r, $"vCPU {Index}");
            }
        }
    }

    /// <summary>Gives the vCPU the CPUID KVM supports (<c>KVM_GET_SUPPORTED_CPUID</c>, <c>KVM_SET_CPUID2</c>).</summary>
    private void SetSupportedCpuid()
    {
        KvmCpuidEntry2[] entries = _vm.SupportedCpuid();
        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Function == 1)
            {
                // Initial APIC id in EBX[31:24].
                entries[i].Ebx = (entries[i].Ebx & 0x00ffffff) | ((uint)Index << 24);
            }
        }
        SetCpuid(entries);
    }

    /// <summary><c>KVM_SET_CPUID2</c> with <paramref name="entries"/>.</summary>
    internal void SetCpuid(ReadOnlySpan<KvmCpuidEntry2> entries)
    {
        byte[] buffer = KvmCpuid.Pack(entries);
        // SAFETY: the pinned buffer holds a kvm_cpuid2 header and entries.Length entries, as packed.
        unsafe
        {
            fixed (byte* p = buffer)
            {
                int r = Libc.Ioctl(_fd, KvmAbi.SetCpuid2, (nint)p);
                if (r < 0)
                {
                    throw new KvmException("KVM_SET_CPUID2", -r, $"vCPU {Index}, {entries.Length} entries");
                }
            }
        }
    }

    public void Dispose()
    {
        nint run = Interlocked.Exchange(ref _run, 0);
        if (run != 0)
        {
            Libc.TryMunmap(run, (ulong)_mmapSize);
        }
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Libc.Close(fd);
        }
    }
}
