using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Iced.Intel;
using Memspace.Core;
using Memspace.Interop;
using Memspace.Vcpus;

namespace Memspace.Unicorn;

/// <summary>
/// A vCPU on Unicorn (QEMU's TCG as a library). Port I/O (IN/OUT hooks) and MMIO (window callbacks)
/// are served inside the emulator's run, through the handler <see cref="Vcpus.Vcpu"/> gives it, so they
/// appear exactly like KVM exits; <see cref="Run"/> returns only what stops the guest: HLT, a triple
/// fault, a kick, a failure. Every native callback catches what it throws, records it and stops
/// emulation; the run then ends with an exit that names the exception.
/// </summary>
/// <remarks>
/// Reset: Unicorn cannot give CS the base 0xffff0000, so the reset state uses CS base 0xf0000 (selector
/// 0xf000), which the "isa-bios" alias makes equivalent at reset. Interrupts and exceptions are
/// delivered by Memspace through the IVT (real mode) or a same-privilege IDT gate (protected mode
/// without paging); a vector beyond the table's limit is a triple fault.
/// </remarks>
internal sealed class UnicornVcpu : IVcpuBackend, IInlineExitBackend, IInterruptibleBackend
{
    private const uint IfFlag = 0x200;

    private const int DescB = 1 << 22;

    private readonly UnicornEngine _engine;
    private readonly UnicornAccelerator _accel;
    private InlineExitHandler? _handler;
    private ulong _romWrite = ulong.MaxValue;
    private string? _stopDetail;
    private VcpuExitKind _stopKind;
    private bool _stopFromHook;
    private bool _halted;
    private bool _haltWait;
    private ulong _haltAddress;
    private IInterruptController? _pic;
    private readonly ManualResetEventSlim _wake = new(false);

    public UnicornVcpu(UnicornAccelerator accel, int index)
    {
        _accel = accel;
        _engine = accel.Engine;
        Index = index;
        _engine.WithEngine(() =>
        {
            AddHooks();
            return 0;
        });
        _engine.Vcpu = this;
        // The first ROM write decodes with Iced, whose first use costs tens of milliseconds of JIT:
        // pay that on another core while the guest starts.
        ThreadPool.UnsafeQueueUserWorkItem(static _ => WarmUpDecoder(), null);
    }

    private static void WarmUpDecoder()
    {
        var decoder = Decoder.Create(32, new ByteArrayCodeReader([0xc7, 0x05, 0x00, 0xff, 0xff, 0xff, 0, 0, 0, 0]), 0);
        decoder.Decode(out Instruction insn);
        foreach (UsedMemory mem in new InstructionInfoFactory().GetInfo(insn).GetUsedMemory())
        {
            mem.TryGetVirtualAddress(0, out _, (Register _, int _, int _, out ulong v) =>
            {
                v = 0;
                return true;
            });
        }
    }

    public int Index { get; }

    public void SetExitHandler(InlineExitHandler handler) => _handler = handler;

    public IInterruptController? InterruptController
    {
        get => _pic;
        set
        {
            if (_pic is not null)
            {
                _pic.InterruptRaised -= OnInterruptRaised;
            }
            _pic = value;
            if (value is not null)
            {
                value.InterruptRaised += OnInterruptRaised;
            }
        }
    }

    private void OnInterruptRaised()
    {
        _engine.RequestInterruptWindow();
        _wake.Set();
    }

    /// <summary>
    /// HLT with interrupts enabled and a controller that can still raise one: waits for INTR (or a kick).
    /// Returns true to run on, false when nothing can wake the vCPU any more, null on a kick.
    /// </summary>
    private bool? WaitWhileHalted()
    {
        while (true)
        {
            _wake.Reset();
            if (_engine.KickPending)
            {
                return null;
            }
            if (_pic is not { } pic)
            {
                return false;
            }
            if (pic.InterruptPending)
            {
                return true;
            }
            if (!pic.CanRaise)
            {
                return false;
            }
            _wake.Wait(TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>Serves an exit: through <see cref="Vcpus.Vcpu"/>'s handler when there is one, else directly.</summary>
    internal void Serve(in PendingExit exit)
    {
        if (_handler is { } h)
        {
            h(exit);
        }
        else
        {
            ExitServer.Serve(exit, _accel.MemorySpace, _accel.IoSpace ?? _accel.MemorySpace);
        }
    }

    // SAFETY: hook handles are written to a local; the callbacks are static unmanaged entry points whose
    // user data is the engine's GC handle, alive until the engine is disposed (which closes Unicorn first).
    private unsafe void AddHooks()
    {
        nint uc = _engine.Handle;
        nint self = _engine.SelfHandle;
        nuint hh;
        UnicornEngine.Check(UnicornLib.HookAddInsn(uc, &hh, UnicornAbi.HookInsn, (nint)(delegate* unmanaged<nint, uint, int, nint, uint>)&OnIn, self, 1, 0, UnicornAbi.InsIn), "uc_hook_add (IN)");
        UnicornEngine.Check(UnicornLib.HookAddInsn(uc, &hh, UnicornAbi.HookInsn, (nint)(delegate* unmanaged<nint, uint, int, uint, nint, void>)&OnOut, self, 1, 0, UnicornAbi.InsOut), "uc_hook_add (OUT)");
        UnicornEngine.Check(UnicornLib.HookAddInsn(uc, &hh, UnicornAbi.HookInsn, (nint)(delegate* unmanaged<nint, nint, int>)&OnCpuid, self, 1, 0, UnicornAbi.InsCpuid), "uc_hook_add (CPUID)");
        UnicornEngine.Check(UnicornLib.HookAdd(uc, &hh, UnicornAbi.HookBlock, (nint)(delegate* unmanaged<nint, ulong, uint, nint, void>)&OnBlock, self, 1, 0), "uc_hook_add (block)");
        UnicornEngine.Check(UnicornLib.HookAdd(uc, &hh, UnicornAbi.HookMemWriteProt, (nint)(delegate* unmanaged<nint, int, ulong, int, long, nint, byte>)&OnWriteProt, self, 1, 0), "uc_hook_add (write-protect)");
        UnicornEngine.Check(UnicornLib.HookAdd(uc, &hh, UnicornAbi.HookMemUnmapped, (nint)(delegate* unmanaged<nint, int, ulong, int, long, nint, byte>)&OnUnmapped, self, 1, 0), "uc_hook_add (unmapped)");
        UnicornEngine.Check(UnicornLib.HookAdd(uc, &hh, UnicornAbi.HookIntr, (nint)(delegate* unmanaged<nint, uint, nint, void>)&OnInterrupt, self, 1, 0), "uc_hook_add (interrupt)");
    }

    public PendingExit Run()
    {
        while (true)
        {
            if (_engine.TakeKick())
            {
                return new PendingExit(VcpuExitKind.Interrupted);
            }
            if (_halted)
            {
                bool? wake = WaitWhileHalted();
                if (wake is null)
                {
                    continue; // the kick is reported at the top
                }
                if (wake == false)
                {
                    return new PendingExit(VcpuExitKind.Halt, _haltAddress, detail: "HLT with interrupts enabled, and nothing left that can raise one");
                }
            }
            // The engine stays this thread's (other threads' map changes wait) until the outcome is known.
            _engine.EnterRun();
            (VcpuExitKind Kind, ulong Address, string? Detail)? outcome;
            try
            {
                outcome = RunOnceInEngine();
            }
            finally
            {
                _engine.LeaveRun();
            }
            if (_haltWait)
            {
                _haltWait = false;
                _halted = true;
                continue;
            }
            if (outcome is { } o)
            {
                return new PendingExit(o.Kind, o.Address, detail: o.Detail);
            }
        }
    }

    /// <summary>One <c>uc_emu_start</c> and what it means; null when the guest should simply go on.</summary>
    private (VcpuExitKind, ulong, string?)? RunOnceInEngine()
    {
        _engine.ClearInterruptWindow();
        if (_pic is { } pic && pic.InterruptPending && (ReadReg(UnicornAbi.RegEflags) & IfFlag) != 0)
        {
            _halted = false;
            Deliver(pic.Acknowledge());
            if (_stopFromHook)
            {
                return (_stopKind, ReadReg(UnicornAbi.RegEip), _stopDetail);
            }
        }
        if (_halted)
        {
            return null; // interrupts got disabled meanwhile? keep waiting
        }
        ulong eip = ReadReg(UnicornAbi.RegEip) & 0xffff_ffff;
        _stopFromHook = false;
        _romWrite = ulong.MaxValue;
        _engine.Failure = null;
        int err = UnicornLib.EmuStart(_engine.Handle, eip, ulong.MaxValue, 0, 0);
        eip = ReadReg(UnicornAbi.RegEip) & 0xffff_ffff;
        if (_engine.Failure is { } failure)
        {
            _engine.Failure = null;
            return (VcpuExitKind.Failed, eip, $"exception in a Unicorn callback: {failure.GetType().Name}: {failure.Message}");
        }
        if (_stopFromHook)
        {
            return (_stopKind, eip, _stopDetail);
        }
        if (err == UnicornAbi.ErrWriteProt && _romWrite != ulong.MaxValue)
        {
            return SkipFaultingStore(_romWrite, out string? why) ? null : (VcpuExitKind.InternalError, eip, why);
        }
        if (err != UnicornAbi.ErrOk)
        {
            return (VcpuExitKind.InternalError, eip,
                $"Unicorn stopped: {UnicornLib.ErrorText(err)} (uc_err {err}) at cs:eip {Selector(UnicornAbi.RegCs):x4}:{eip:x}");
        }
        if (_engine.StopWanted)
        {
            return null; // a kick (reported at the top of the loop) or a map change (applied when the run is left)
        }
        if (LastInstructionWasHlt(eip))
        {
            if (_pic is { } p && (ReadReg(UnicornAbi.RegEflags) & IfFlag) != 0 && (p.InterruptPending || p.CanRaise))
            {
                _haltWait = true;
                _haltAddress = eip;
                return null;
            }
            return (VcpuExitKind.Halt, eip, null);
        }
        return (VcpuExitKind.InternalError, eip, $"Unicorn ended emulation at cs:eip {Selector(UnicornAbi.RegCs):x4}:{eip:x} without a reason");
    }

    public void Kick()
    {
        _engine.Kick();
        _wake.Set();
    }

    private bool LastInstructionWasHlt(ulong eip)
    {
        if (eip == 0)
        {
            return false;
        }
        ulong linear = SegmentBase(UnicornAbi.RegCs) + eip - 1;
        Span<byte> b = stackalloc byte[1];
        return _accel.MemorySpace.Read(linear, b, MemTxAttrs.UnspecifiedAttrs) == MemTxResult.Ok && b[0] == 0xf4;
    }

    /// <summary>
    /// Unicorn stopped on a store to a read-only mapping with EIP at the start of the translation block
    /// (the instructions before the store have run). Finds the store by decoding forward and computing
    /// each memory operand's address, and resumes after it: the write itself was already offered to the
    /// address space, which dropped it as a read-only KVM slot would.
    /// </summary>
    private bool SkipFaultingStore(ulong faultAddress, out string? why)
    {
        ulong eip = ReadReg(UnicornAbi.RegEip) & 0xffff_ffff;
        ulong csBase = SegmentBase(UnicornAbi.RegCs);
        int bitness = CodeIs32Bit() ? 32 : 16;
        byte[] code = new byte[256];
        _accel.MemorySpace.Read(csBase + eip, code, MemTxAttrs.UnspecifiedAttrs);
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(code), eip);
        var info = new InstructionInfoFactory();
        ulong[] segBases = [SegmentBase(UnicornAbi.RegEs), csBase, SegmentBase(UnicornAbi.RegSs), SegmentBase(UnicornAbi.RegDs), SegmentBase(UnicornAbi.RegFs), SegmentBase(UnicornAbi.RegGs)];
        X86Registers regs = GetRegisters();
        for (int n = 0; n < 64 && decoder.IP < eip + 240; n++)
        {
            decoder.Decode(out Instruction insn);
            if (insn.IsInvalid)
            {
                break;
            }
            foreach (UsedMemory mem in info.GetInfo(insn).GetUsedMemory())
            {
                if (mem.Access is not (OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite))
                {
                    continue;
                }
                if (mem.TryGetVirtualAddress(0, out ulong va, (Register r, int _, int _, out ulong v) => RegisterValue(r, regs, segBases, out v))
                    && (va & 0xffff_ffff) <= faultAddress && faultAddress < (va & 0xffff_ffff) + (ulong)Math.Max(1, mem.MemorySize.GetSize()))
                {
                    WriteReg(UnicornAbi.RegEip, insn.NextIP & 0xffff_ffff);
                    why = null;
                    return true;
                }
            }
            if (insn.FlowControl != FlowControl.Next)
            {
                break;
            }
        }
        why = $"a store to read-only memory at 0x{faultAddress:x} from the block at cs:eip {Selector(UnicornAbi.RegCs):x4}:{eip:x} could not be located to skip it";
        return false;
    }

    private static bool RegisterValue(Register r, in X86Registers regs, ulong[] segBases, out ulong value)
    {
        value = r switch
        {
            Register.ES => segBases[0],
            Register.CS => segBases[1],
            Register.SS => segBases[2],
            Register.DS => segBases[3],
            Register.FS => segBases[4],
            Register.GS => segBases[5],
            _ => r.GetFullRegister32() switch
            {
                Register.EAX => regs.Rax,
                Register.EBX => regs.Rbx,
                Register.ECX => regs.Rcx,
                Register.EDX => regs.Rdx,
                Register.ESI => regs.Rsi,
                Register.EDI => regs.Rdi,
                Register.ESP => regs.Rsp,
                Register.EBP => regs.Rbp,
                _ => ulong.MaxValue,
            },
        };
        if (value == ulong.MaxValue)
        {
            return false;
        }
        int size = r.GetSize();
        if (r.IsGPR() && size < 8)
        {
            value &= size == 4 ? 0xffff_ffffUL : size == 2 ? 0xffffUL : 0xffUL;
        }
        return true;
    }

    // ---- native callbacks (on the vCPU thread, inside uc_emu_start) ----

    private static UnicornEngine EngineOf(nint user) => (UnicornEngine)GCHandle.FromIntPtr(user).Target!;

    [UnmanagedCallersOnly]
    private static uint OnIn(nint uc, uint port, int size, nint user)
    {
        UnicornEngine engine = EngineOf(user);
        try
        {
            Span<byte> data = stackalloc byte[4];
            data.Fill(0xff);
            int n = size is 1 or 2 or 4 ? size : 1;
            engine.Vcpu!.Serve(new PendingExit(VcpuExitKind.Io, port, (uint)n, 1, false, data[..n]));
            return BinaryPrimitives.ReadUInt32LittleEndian(data) & (n == 4 ? 0xffff_ffffu : (1u << (8 * n)) - 1);
        }
        catch (Exception e)
        {
            engine.Fail(e);
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static void OnOut(nint uc, uint port, int size, uint value, nint user)
    {
        UnicornEngine engine = EngineOf(user);
        try
        {
            Span<byte> data = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(data, value);
            int n = size is 1 or 2 or 4 ? size : 1;
            engine.Vcpu!.Serve(new PendingExit(VcpuExitKind.Io, port, (uint)n, 1, true, data[..n]));
        }
        catch (Exception e)
        {
            engine.Fail(e);
        }
    }

    /// <summary>CPUID leaf 1 is Unicorn's plus what a PC guest expects of any x86 CPU: FPU and TSC, the hypervisor bit, and the APIC id; other leaves are Unicorn's.</summary>
    [UnmanagedCallersOnly]
    private static int OnCpuid(nint uc, nint user)
    {
        UnicornEngine engine = EngineOf(user);
        try
        {
            UnicornVcpu vcpu = engine.Vcpu!;
            if ((uint)vcpu.ReadReg(UnicornAbi.RegEax) != 1)
            {
                return 0;
            }
            uint[] leaf = engine.CpuidLeaf1;
            vcpu.WriteReg(UnicornAbi.RegEax, leaf[0]);
            vcpu.WriteReg(UnicornAbi.RegEbx, (leaf[1] & 0x00ff_ffff) | ((uint)vcpu.Index << 24));
            vcpu.WriteReg(UnicornAbi.RegEcx, leaf[2] | (1u << 31));
            vcpu.WriteReg(UnicornAbi.RegEdx, leaf[3] | 1u | (1u << 4));
            return 1;
        }
        catch (Exception e)
        {
            engine.Fail(e);
            return 1;
        }
    }

    [UnmanagedCallersOnly]
    private static void OnBlock(nint uc, ulong address, uint size, nint user)
    {
        UnicornEngine engine = EngineOf(user);
        try
        {
            if (engine.StopWanted)
            {
                // Asked for on this thread, at a block boundary: no cross-thread uc_emu_stop.
                UnicornLib.EmuStop(uc);
            }
        }
        catch (Exception e)
        {
            engine.Fail(e);
        }
    }

    [UnmanagedCallersOnly]
    private static byte OnWriteProt(nint uc, int type, ulong address, int size, long value, nint user)
    {
        UnicornEngine engine = EngineOf(user);
        try
        {
            // Offer the store to the address space as an MMIO write (a read-only section drops it, a
            // ROM device in romd mode takes it), then stop so the run loop can skip the instruction.
            engine.Access(address, (uint)Math.Clamp(size, 1, 8), true, (ulong)value);
            engine.Vcpu!._romWrite = address;
        }
        catch (Exception e)
        {
            engine.Fail(e);
        }
        return 0;
    }

    [UnmanagedCallersOnly]
    private static byte OnUnmapped(nint uc, int type, ulong address, int size, long value, nint user)
    {
        UnicornEngine engine = EngineOf(user);
        try
        {
            if (type == UnicornAbi.MemFetchUnmapped)
            {
                engine.Vcpu!.StopFromHook(VcpuExitKind.InternalError, $"instruction fetch from 0x{address:x}, where nothing Unicorn can execute is mapped");
                return 0;
            }
            return engine.MapUnassigned(address) ? (byte)1 : (byte)0;
        }
        catch (Exception e)
        {
            engine.Fail(e);
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static void OnInterrupt(nint uc, uint vector, nint user)
    {
        UnicornEngine engine = EngineOf(user);
        try
        {
            engine.Vcpu!.Deliver((int)vector);
        }
        catch (Exception e)
        {
            engine.Fail(e);
        }
    }

    private void StopFromHook(VcpuExitKind kind, string detail)
    {
        _stopFromHook = true;
        _stopKind = kind;
        _stopDetail = detail;
        UnicornLib.EmuStop(_engine.Handle);
    }

    /// <summary>
    /// Delivers interrupt or exception <paramref name="vector"/> as the CPU would: through the IVT in real
    /// mode, through a same-privilege interrupt or trap gate in protected mode. A vector beyond the
    /// table's limit is a triple fault (a shutdown exit).
    /// </summary>
    internal void Deliver(int vector)
    {
        X86DescriptorTable idt = ReadTable(UnicornAbi.RegIdtr);
        bool real = (ReadReg(UnicornAbi.RegCr0) & 1) == 0;
        uint flags = (uint)ReadReg(UnicornAbi.RegEflags);
        ulong eip = ReadReg(UnicornAbi.RegEip) & 0xffff_ffff;
        ushort cs = Selector(UnicornAbi.RegCs);
        AddressSpace mem = _accel.MemorySpace;
        MemTxAttrs u = MemTxAttrs.UnspecifiedAttrs;
        if (real)
        {
            if ((ulong)vector * 4 + 3 > idt.Limit)
            {
                StopFromHook(VcpuExitKind.Shutdown, $"triple fault: vector {vector} beyond the IVT limit 0x{idt.Limit:x}");
                return;
            }
            uint entry = mem.LoadU32Le(idt.Base + (ulong)vector * 4, out _, u);
            ulong sp = ReadReg(UnicornAbi.RegEsp) & 0xffff;
            ulong ss = SegmentBase(UnicornAbi.RegSs);
            sp = (sp - 2) & 0xffff;
            mem.StoreU16Le(ss + sp, (ushort)flags, u);
            sp = (sp - 2) & 0xffff;
            mem.StoreU16Le(ss + sp, cs, u);
            sp = (sp - 2) & 0xffff;
            mem.StoreU16Le(ss + sp, (ushort)eip, u);
            WriteReg(UnicornAbi.RegEsp, (ReadReg(UnicornAbi.RegEsp) & ~0xffffUL) | sp);
            WriteReg(UnicornAbi.RegEflags, flags & ~0x300u);
            WriteSelector(UnicornAbi.RegCs, (ushort)(entry >> 16));
            WriteReg(UnicornAbi.RegEip, entry & 0xffff);
            return;
        }
        if ((ulong)vector * 8 + 7 > idt.Limit)
        {
            StopFromHook(VcpuExitKind.Shutdown, $"triple fault: vector {vector} beyond the IDT limit 0x{idt.Limit:x}");
            return;
        }
        ulong gate = mem.LoadU64Le(idt.Base + (ulong)vector * 8, out _, u);
        int type = (int)(gate >> 40) & 0x1f;
        bool present = ((gate >> 47) & 1) != 0;
        if (!present || (type != 0xe && type != 0xf))
        {
            StopFromHook(VcpuExitKind.Shutdown, $"triple fault: IDT entry {vector} is not a present 32-bit interrupt or trap gate (type 0x{type:x})");
            return;
        }
        ushort selector = (ushort)(gate >> 16);
        uint offset = (uint)(gate & 0xffff) | (uint)((gate >> 48) << 16);
        ulong esp = ReadReg(UnicornAbi.RegEsp) & 0xffff_ffff;
        ulong ssBase = SegmentBase(UnicornAbi.RegSs);
        esp -= 4;
        mem.StoreU32Le(ssBase + esp, flags, u);
        esp -= 4;
        mem.StoreU32Le(ssBase + esp, cs, u);
        esp -= 4;
        mem.StoreU32Le(ssBase + esp, (uint)eip, u);
        WriteReg(UnicornAbi.RegEsp, esp);
        WriteReg(UnicornAbi.RegEflags, flags & ~(type == 0xe ? 0x4300u : 0x4100u));
        WriteSelector(UnicornAbi.RegCs, selector);
        WriteReg(UnicornAbi.RegEip, offset);
    }

    // ---- registers ----

    // SAFETY: value is a local of 8 bytes; Unicorn writes at most 8 for these registers.
    private unsafe ulong ReadReg(int reg)
    {
        ulong value = 0;
        UnicornEngine.Check(UnicornLib.RegRead(_engine.Handle, reg, &value), "uc_reg_read");
        return value;
    }

    // SAFETY: value is a local of 8 bytes; Unicorn reads at most 8 for these registers.
    private unsafe void WriteReg(int reg, ulong value)
        => UnicornEngine.Check(UnicornLib.RegWrite(_engine.Handle, reg, &value), $"uc_reg_write (register {reg})");

    private ushort Selector(int reg) => (ushort)ReadReg(reg);

    // SAFETY: value is a local of 8 bytes; a selector is 2.
    private unsafe void WriteSelector(int reg, ushort selector)
    {
        ulong value = selector;
        UnicornEngine.Check(UnicornLib.RegWrite(_engine.Handle, reg, &value), $"uc_reg_write (segment {reg} = 0x{selector:x})");
    }

    // SAFETY: mmr is a local uc_x86_mmr (layout checked by UnicornAbiTests).
    private unsafe X86DescriptorTable ReadTable(int reg)
    {
        UcX86Mmr mmr = default;
        UnicornEngine.Check(UnicornLib.RegRead(_engine.Handle, reg, &mmr), "uc_reg_read");
        return new X86DescriptorTable(mmr.Base, (ushort)mmr.Limit);
    }

    // SAFETY: mmr is a local uc_x86_mmr.
    private unsafe void WriteTable(int reg, X86DescriptorTable table)
    {
        var mmr = new UcX86Mmr { Base = table.Base, Limit = table.Limit };
        UnicornEngine.Check(UnicornLib.RegWrite(_engine.Handle, reg, &mmr), "uc_reg_write (descriptor table)");
    }

    // SAFETY: msr is a local uc_x86_msr.
    private unsafe ulong ReadMsr(uint id)
    {
        var msr = new UcX86Msr { Rid = id };
        UnicornEngine.Check(UnicornLib.RegRead(_engine.Handle, UnicornAbi.RegMsr, &msr), "uc_reg_read (MSR)");
        return msr.Value;
    }

    // SAFETY: msr is a local uc_x86_msr.
    private unsafe void WriteMsr(uint id, ulong value)
    {
        var msr = new UcX86Msr { Rid = id, Value = value };
        UnicornEngine.Check(UnicornLib.RegWrite(_engine.Handle, UnicornAbi.RegMsr, &msr), "uc_reg_write (MSR)");
    }

    /// <summary>The hidden cache of a segment register, from its selector (Unicorn's 32-bit API returns only selectors).</summary>
    private X86Segment Segment(int reg)
    {
        ushort sel = Selector(reg);
        bool code = reg == UnicornAbi.RegCs;
        if ((ReadReg(UnicornAbi.RegCr0) & 1) == 0)
        {
            return X86Segment.RealMode(sel, code);
        }
        X86DescriptorTable gdt = ReadTable(UnicornAbi.RegGdtr);
        if ((sel & ~7) == 0 || (ulong)(sel & ~7) + 7 > gdt.Limit)
        {
            return new X86Segment { Selector = sel, Unusable = true };
        }
        ulong d = _accel.MemorySpace.LoadU64Le(gdt.Base + (ulong)(sel & ~7), out _, MemTxAttrs.UnspecifiedAttrs);
        uint limit = (uint)(d & 0xffff) | (uint)((d >> 32) & 0xf0000);
        bool g = ((d >> 55) & 1) != 0;
        return new X86Segment
        {
            Selector = sel,
            Base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
            Limit = g ? (limit << 12) | 0xfff : limit,
            Type = (byte)((d >> 40) & 0xf),
            S = ((d >> 44) & 1) != 0,
            Dpl = (byte)((d >> 45) & 3),
            Present = ((d >> 47) & 1) != 0,
            Avl = ((d >> 52) & 1) != 0,
            L = ((d >> 53) & 1) != 0,
            Db = ((d >> 54) & 1) != 0,
            G = g,
        };
    }

    private ulong SegmentBase(int reg) => Segment(reg).Base;

    private bool CodeIs32Bit() => Segment(UnicornAbi.RegCs).Db;

    public X86Registers GetRegisters() => _engine.WithEngine(GetRegistersUnlocked);

    public void SetRegisters(in X86Registers r)
    {
        X86Registers x = r;
        _engine.WithEngine(() =>
        {
            SetRegistersUnlocked(x);
            return 0;
        });
    }

    public X86SystemRegisters GetSystemRegisters() => _engine.WithEngine(() => new X86SystemRegisters
    {
        Cs = Segment(UnicornAbi.RegCs), Ds = Segment(UnicornAbi.RegDs), Es = Segment(UnicornAbi.RegEs),
        Fs = Segment(UnicornAbi.RegFs), Gs = Segment(UnicornAbi.RegGs), Ss = Segment(UnicornAbi.RegSs),
        Gdt = ReadTable(UnicornAbi.RegGdtr), Idt = ReadTable(UnicornAbi.RegIdtr),
        Cr0 = ReadReg(UnicornAbi.RegCr0) & 0xffff_ffff, Cr2 = ReadReg(UnicornAbi.RegCr2) & 0xffff_ffff,
        Cr3 = ReadReg(UnicornAbi.RegCr3) & 0xffff_ffff, Cr4 = ReadReg(UnicornAbi.RegCr4) & 0xffff_ffff,
        Efer = ReadMsr(UnicornAbi.MsrEfer),
        ApicBase = 0xfee0_0900,
    });

    /// <summary>
    /// Sets the mode and the segments. Real mode (CR0.PE clear) starts from the saved real-mode state and
    /// loads each segment as real mode does (base = selector × 16; a CS base of 0xffff0000 becomes
    /// 0xf0000). Protected mode starts from Unicorn's flat protected-mode state, sets the tables and
    /// control registers, and loads each selector from the GDT, as the CPU would.
    /// </summary>
    public void SetSystemRegisters(in X86SystemRegisters s)
    {
        X86SystemRegisters x = s;
        if ((x.Efer & (1 << 8)) != 0 || x.Cs.L)
        {
            throw new UnicornException("Unicorn's 32-bit x86 API cannot load a long-mode state from outside the guest (EFER.LME or a 64-bit CS); the guest has to enter long mode itself");
        }
        _engine.WithEngine(() =>
        {
            X86Registers saved = GetRegistersUnlocked();
            bool real = (x.Cr0 & 1) == 0;
            _engine.RestoreContext(real);
            WriteTable(UnicornAbi.RegGdtr, x.Gdt);
            WriteTable(UnicornAbi.RegIdtr, x.Idt);
            if (!real)
            {
                WriteReg(UnicornAbi.RegCr3, x.Cr3 & 0xffff_ffff);
                WriteReg(UnicornAbi.RegCr4, x.Cr4 & 0xffff_ffff);
                WriteMsr(UnicornAbi.MsrEfer, x.Efer);
                WriteReg(UnicornAbi.RegCr0, x.Cr0 & 0xffff_ffff);
            }
            foreach ((int reg, X86Segment seg) in new[] { (UnicornAbi.RegCs, x.Cs), (UnicornAbi.RegSs, x.Ss), (UnicornAbi.RegDs, x.Ds), (UnicornAbi.RegEs, x.Es), (UnicornAbi.RegFs, x.Fs), (UnicornAbi.RegGs, x.Gs) })
            {
                ushort sel = real && reg == UnicornAbi.RegCs && seg.Base == 0xffff_0000 ? (ushort)0xf000 : seg.Selector;
                if (!real && (sel & ~3) == 0 && reg is not (UnicornAbi.RegCs or UnicornAbi.RegSs))
                {
                    continue;
                }
                WriteSelector(reg, sel);
            }
            SetRegistersUnlocked(saved);
            return 0;
        });
    }

    private X86Registers GetRegistersUnlocked() => new()
    {
        Rax = ReadReg(UnicornAbi.RegEax), Rbx = ReadReg(UnicornAbi.RegEbx), Rcx = ReadReg(UnicornAbi.RegEcx), Rdx = ReadReg(UnicornAbi.RegEdx),
        Rsi = ReadReg(UnicornAbi.RegEsi), Rdi = ReadReg(UnicornAbi.RegEdi), Rsp = ReadReg(UnicornAbi.RegEsp), Rbp = ReadReg(UnicornAbi.RegEbp),
        Rip = ReadReg(UnicornAbi.RegEip), Rflags = ReadReg(UnicornAbi.RegEflags),
    };

    private void SetRegistersUnlocked(in X86Registers x)
    {
        WriteReg(UnicornAbi.RegEax, x.Rax & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEbx, x.Rbx & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEcx, x.Rcx & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEdx, x.Rdx & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEsi, x.Rsi & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEdi, x.Rdi & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEsp, x.Rsp & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEbp, x.Rbp & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEflags, (x.Rflags | 2) & 0xffff_ffff);
        WriteReg(UnicornAbi.RegEip, x.Rip & 0xffff_ffff);
    }

    public void Dispose()
    {
        InterruptController = null;
        _engine.Vcpu = null;
        _wake.Dispose();
    }
}
