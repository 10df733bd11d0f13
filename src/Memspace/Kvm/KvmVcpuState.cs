using System.Buffers.Binary;
using Memspace.Interop;
using Memspace.Vcpus;

namespace Memspace.Kvm;

/// <summary>
/// Saving and loading a KVM vCPU's complete state (QEMU's <c>kvm_arch_get_registers</c> and
/// <c>kvm_arch_put_registers</c> at full level). Parts: "regs", "sregs", "xsave" (or "fpu" without
/// <c>KVM_CAP_XSAVE</c>), "xcrs" (with <c>KVM_CAP_XCRS</c>), "msrs", "lapic" (with the in-kernel
/// irqchip), "mp_state", "debugregs", "events". Each part holds the kernel structure's bytes, except
/// "msrs": a u32 count and (u32 index, u32 0, u64 value) entries, as <c>struct kvm_msrs</c> lists them.
/// </summary>
internal sealed partial class KvmVcpu : IVcpuStateBackend
{
    /// <summary>The <see cref="VcpuState.Kind"/> of states this backend writes and loads.</summary>
    public const string StateKind = "kvm-x86_64";

    private const uint MsrTscDeadline = 0x6e0;

    private bool _completionPending;
    private uint[]? _savedMsrs;
    private readonly List<string> _skippedRegisters = [];

    public IReadOnlyList<string> SkippedRegisters => _skippedRegisters;

    public VcpuState SaveState()
    {
        CompletePendingExit();
        var parts = new List<VcpuStatePart>
        {
            new("regs", Get(KvmAbi.GetRegs, "KVM_GET_REGS")),
        };
        if (_vm.CheckExtension(KvmAbi.CapXsave) > 0)
        {
            parts.Add(new("xsave", GetXsave()));
        }
        else
        {
            parts.Add(new("fpu", Get(KvmAbi.GetFpu, "KVM_GET_FPU")));
        }
        if (_vm.CheckExtension(KvmAbi.CapXcrs) > 0)
        {
            parts.Add(new("xcrs", Get(KvmAbi.GetXcrs, "KVM_GET_XCRS")));
        }
        parts.Add(new("sregs", Get(KvmAbi.GetSregs, "KVM_GET_SREGS")));
        parts.Add(new("msrs", GetMsrs()));
        parts.Add(new("mp_state", Get(KvmAbi.GetMpState, "KVM_GET_MP_STATE")));
        if (_vm.HasIrqchip)
        {
            parts.Add(new("lapic", Get(KvmAbi.GetLapic, "KVM_GET_LAPIC")));
        }
        if (_vm.CheckExtension(KvmAbi.CapDebugregs) > 0)
        {
            parts.Add(new("debugregs", Get(KvmAbi.GetDebugregs, "KVM_GET_DEBUGREGS")));
        }
        parts.Add(new("events", Get(KvmAbi.GetVcpuEvents, "KVM_GET_VCPU_EVENTS")));
        return new VcpuState(StateKind, Index, parts);
    }

    public void LoadState(VcpuState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Kind != StateKind)
        {
            throw new VcpuStateException(null, $"kind '{state.Kind}'; a KVM vCPU loads '{StateKind}'");
        }
        var known = new HashSet<string>(["regs", "sregs", "xsave", "fpu", "xcrs", "msrs", "mp_state", "lapic", "debugregs", "events"]);
        foreach (VcpuStatePart p in state.Parts)
        {
            if (!known.Contains(p.Name))
            {
                throw new VcpuStateException(p.Name, "is not a part of a KVM vCPU's state");
            }
        }
        // Validate every part before changing anything, so a refused state leaves the vCPU as it was.
        byte[] regs = state.Get("regs", KvmAbi.IoctlSize(KvmAbi.SetRegs));
        byte[] sregs = (byte[])state.Get("sregs", KvmAbi.IoctlSize(KvmAbi.SetSregs)).Clone();
        byte[]? xsave = state.Find("xsave");
        byte[]? fpu = state.Find("fpu");
        if (xsave is null && fpu is null)
        {
            throw new VcpuStateException("xsave", "missing (and no 'fpu' part either)");
        }
        if (xsave is not null)
        {
            if (_vm.CheckExtension(KvmAbi.CapXsave) <= 0)
            {
                throw new VcpuStateException("xsave", "this host's KVM has no KVM_CAP_XSAVE");
            }
            state.Get("xsave", XsaveSize);
        }
        if (fpu is not null)
        {
            state.Get("fpu", KvmAbi.IoctlSize(KvmAbi.SetFpu));
        }
        byte[]? xcrs = state.Find("xcrs");
        if (xcrs is not null)
        {
            state.Get("xcrs", KvmAbi.IoctlSize(KvmAbi.SetXcrs));
        }
        (uint Index, ulong Value)[] msrs = ParseMsrs(state.Get("msrs"));
        byte[] mpState = state.Get("mp_state", KvmAbi.IoctlSize(KvmAbi.SetMpState));
        byte[]? lapic = state.Find("lapic");
        if (lapic is not null)
        {
            state.Get("lapic", KvmAbi.IoctlSize(KvmAbi.SetLapic));
            if (!_vm.HasIrqchip)
            {
                throw new VcpuStateException("lapic", "the state has an in-kernel LAPIC but this VM has no in-kernel irqchip");
            }
        }
        else if (_vm.HasIrqchip)
        {
            throw new VcpuStateException("lapic", "missing, but this VM has an in-kernel irqchip (the source had none)");
        }
        byte[]? debugregs = state.Find("debugregs");
        if (debugregs is not null)
        {
            state.Get("debugregs", KvmAbi.IoctlSize(KvmAbi.SetDebugregs));
        }
        byte[] events = (byte[])state.Get("events", KvmAbi.IoctlSize(KvmAbi.SetVcpuEvents)).Clone();

        CompletePendingExit();
        // The order of QEMU's kvm_arch_put_registers: control registers and EFER first (they decide
        // what the other registers mean), the LAPIC after the MSRs that configure it (APIC base is in
        // sregs), the TSC deadline after the LAPIC (loading the LAPIC resets its timer), events last.
        // The injected interrupt travels in "events", so the sregs bitmap must not inject it again.
        sregs.AsSpan(KvmAbi.SregsInterruptBitmap, 32).Clear();
        Set(KvmAbi.SetSregs, sregs, "KVM_SET_SREGS", "sregs");
        Set(KvmAbi.SetRegs, regs, "KVM_SET_REGS", "regs");
        if (xsave is not null)
        {
            Set(KvmAbi.SetXsave, xsave, "KVM_SET_XSAVE", "xsave");
        }
        else
        {
            Set(KvmAbi.SetFpu, fpu!, "KVM_SET_FPU", "fpu");
        }
        if (xcrs is not null && _vm.CheckExtension(KvmAbi.CapXcrs) > 0)
        {
            Set(KvmAbi.SetXcrs, xcrs, "KVM_SET_XCRS", "xcrs");
        }
        SetMsrs(msrs.Where(m => m.Index != MsrTscDeadline).ToArray());
        if (lapic is not null)
        {
            Set(KvmAbi.SetLapic, lapic, "KVM_SET_LAPIC", "lapic");
        }
        SetMsrs(msrs.Where(m => m.Index == MsrTscDeadline).ToArray());
        Set(KvmAbi.SetMpState, mpState, "KVM_SET_MP_STATE", "mp_state");
        if (debugregs is not null && _vm.CheckExtension(KvmAbi.CapDebugregs) > 0)
        {
            Set(KvmAbi.SetDebugregs, debugregs, "KVM_SET_DEBUGREGS", "debugregs");
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(events.AsSpan(KvmAbi.VcpuEventsFlags));
        BinaryPrimitives.WriteUInt32LittleEndian(events.AsSpan(KvmAbi.VcpuEventsFlags),
            flags | KvmAbi.VcpuEventValidNmiPending | KvmAbi.VcpuEventValidSipiVector);
        Set(KvmAbi.SetVcpuEvents, events, "KVM_SET_VCPU_EVENTS", "events");
    }

    /// <summary>
    /// KVM completes a port-I/O or MMIO exit (stores an IN's data in the register, finishes a string
    /// instruction) only on the next <c>KVM_RUN</c>; until then the registers are not the guest's. This
    /// enters with <c>immediate_exit</c> set, which completes the exit and returns <c>EINTR</c> before
    /// running any guest code (the kernel's KVM API documentation, "KVM_RUN").
    /// </summary>
    /// <remarks>
    /// Measured on the PVM host this project runs on: for an IN executed by KVM's instruction emulator
    /// (guest code at CPL0), this KVM_RUN returns EINTR without completing it; RIP still points at the
    /// IN, so a vCPU loaded from the state executes the IN again (the port is read twice; the state is
    /// consistent). An OUT is complete when it exits. Device reads a migrated guest relies on should
    /// therefore have no side effects.
    /// </remarks>
    private void CompletePendingExit()
    {
        if (!_completionPending)
        {
            return;
        }
        Span<byte> run = RunPage;
        run[KvmAbi.RunImmediateExit] = 1;
        int r = Libc.Ioctl(_fd, KvmAbi.Run, 0);
        run[KvmAbi.RunImmediateExit] = 0;
        _completionPending = false;
        if (r >= 0)
        {
            throw new KvmException($"KVM_RUN with immediate_exit (vCPU {Index}, completing the pending I/O) returned exit reason {BinaryPrimitives.ReadUInt32LittleEndian(run[KvmAbi.RunExitReason..])} instead of EINTR");
        }
        if (-r != Libc.Eintr)
        {
            throw new KvmException("KVM_RUN", -r, $"vCPU {Index}, completing the pending I/O before saving or loading state");
        }
    }

    /// <summary>
    /// Bytes of this vCPU's XSAVE area: <c>KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)</c> when it is larger than
    /// <c>struct kvm_xsave</c> (dynamically enabled features such as AMX), else 4096.
    /// </summary>
    private int XsaveSize => Math.Max(KvmAbi.IoctlSize(KvmAbi.GetXsave), _vm.CheckExtension(KvmAbi.CapXsave2));

    /// <summary><c>KVM_GET_XSAVE2</c> into a buffer of <see cref="XsaveSize"/> bytes when the area is larger than 4 KiB, else <c>KVM_GET_XSAVE</c>.</summary>
    private byte[] GetXsave()
    {
        int size = XsaveSize;
        if (size == KvmAbi.IoctlSize(KvmAbi.GetXsave))
        {
            return Get(KvmAbi.GetXsave, "KVM_GET_XSAVE");
        }
        byte[] data = new byte[size];
        int r = BufferIoctl(KvmAbi.GetXsave2, data);
        if (r < 0)
        {
            throw new KvmException("KVM_GET_XSAVE2", -r, $"vCPU {Index}, {size} bytes");
        }
        return data;
    }

    private byte[] Get(uint request, string name)
    {
        byte[] data = new byte[KvmAbi.IoctlSize(request)];
        int r = BufferIoctl(request, data);
        if (r < 0)
        {
            throw new KvmException(name, -r, $"vCPU {Index}");
        }
        return data;
    }

    private void Set(uint request, byte[] data, string name, string part)
    {
        int r = BufferIoctl(request, data);
        if (r < 0)
        {
            throw new VcpuStateException(part, new KvmException(name, -r, $"vCPU {Index}").Message);
        }
    }

    /// <summary>An ioctl on the vCPU whose argument is <paramref name="buffer"/>; returns the result or -errno.</summary>
    private int BufferIoctl(uint request, byte[] buffer)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (buffer.Length < KvmAbi.IoctlSize(request) && request != KvmAbi.GetMsrs && request != KvmAbi.SetMsrs)
        {
            throw new ArgumentException($"ioctl 0x{request:x} needs {KvmAbi.IoctlSize(request)} bytes", nameof(buffer));
        }
        // SAFETY: the array is pinned for the call; it is at least the size the ioctl number encodes
        // (checked above), or for KVM_GET/SET_MSRS a kvm_msrs header and as many entries as it announces.
        unsafe
        {
            fixed (byte* p = buffer)
            {
                return Libc.Ioctl(_fd, request, (nint)p);
            }
        }
    }

    /// <summary>
    /// The MSRs of <c>KVM_GET_MSR_INDEX_LIST</c> this vCPU reads back and accepts back (its own value
    /// written again), found once per vCPU; the others go to <see cref="SkippedRegisters"/>.
    /// </summary>
    private uint[] SavedMsrs()
    {
        if (_savedMsrs is { } cached)
        {
            return cached;
        }
        var ok = new List<uint>();
        foreach (uint index in _vm.MsrIndexList())
        {
            // Kept if it reads back and KVM takes the value back (some listed MSRs refuse host writes
            // in some configurations, e.g. the async-PF interrupt MSR without an in-kernel LAPIC).
            byte[] one = MsrBuffer([index]);
            if (BufferIoctl(KvmAbi.GetMsrs, one) == 1 && BufferIoctl(KvmAbi.SetMsrs, one) == 1)
            {
                ok.Add(index);
            }
            else
            {
                _skippedRegisters.Add($"MSR 0x{index:x}");
            }
        }
        return _savedMsrs = [.. ok];
    }

    private static byte[] MsrBuffer(IReadOnlyList<uint> indices)
    {
        byte[] b = new byte[KvmAbi.MsrsHeader + (KvmAbi.MsrEntrySize * indices.Count)];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)indices.Count);
        for (int i = 0; i < indices.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(KvmAbi.MsrsHeader + (KvmAbi.MsrEntrySize * i)), indices[i]);
        }
        return b;
    }

    private byte[] GetMsrs()
    {
        uint[] indices = SavedMsrs();
        byte[] b = MsrBuffer(indices);
        int r = BufferIoctl(KvmAbi.GetMsrs, b);
        if (r < 0)
        {
            throw new KvmException("KVM_GET_MSRS", -r, $"vCPU {Index}, {indices.Length} MSRs");
        }
        if (r != indices.Length)
        {
            throw new KvmException($"KVM_GET_MSRS (vCPU {Index}) read {r} of {indices.Length} MSRs; MSR 0x{indices[r]:x} no longer reads back");
        }
        return b;
    }

    private static (uint Index, ulong Value)[] ParseMsrs(byte[] data)
    {
        if (data.Length < KvmAbi.MsrsHeader)
        {
            throw new VcpuStateException("msrs", $"is {data.Length} bytes; a count header of {KvmAbi.MsrsHeader} expected");
        }
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if ((ulong)data.Length != KvmAbi.MsrsHeader + ((ulong)count * KvmAbi.MsrEntrySize))
        {
            throw new VcpuStateException("msrs", $"announces {count} MSRs but holds {data.Length} bytes");
        }
        var msrs = new (uint, ulong)[count];
        var seen = new HashSet<uint>();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> e = data.AsSpan(KvmAbi.MsrsHeader + (KvmAbi.MsrEntrySize * i), KvmAbi.MsrEntrySize);
            uint index = BinaryPrimitives.ReadUInt32LittleEndian(e);
            if (!seen.Add(index))
            {
                throw new VcpuStateException("msrs", $"lists MSR 0x{index:x} twice");
            }
            msrs[i] = (index, BinaryPrimitives.ReadUInt64LittleEndian(e[KvmAbi.MsrEntryData..]));
        }
        return msrs;
    }

    private void SetMsrs((uint Index, ulong Value)[] msrs)
    {
        if (msrs.Length == 0)
        {
            return;
        }
        byte[] b = MsrBuffer(msrs.Select(m => m.Index).ToArray());
        for (int i = 0; i < msrs.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(KvmAbi.MsrsHeader + (KvmAbi.MsrEntrySize * i) + KvmAbi.MsrEntryData), msrs[i].Value);
        }
        int r = BufferIoctl(KvmAbi.SetMsrs, b);
        if (r < 0)
        {
            throw new VcpuStateException("msrs", new KvmException("KVM_SET_MSRS", -r, $"vCPU {Index}").Message);
        }
        if (r != msrs.Length)
        {
            throw new VcpuStateException("msrs", $"KVM_SET_MSRS (vCPU {Index}) refused MSR 0x{msrs[r].Index:x} = 0x{msrs[r].Value:x} (set {r} of {msrs.Length})");
        }
    }
}
