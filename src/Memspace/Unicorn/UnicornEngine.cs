using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Memspace.Core;
using Memspace.Interop;
using Memspace.Vcpus;

namespace Memspace.Unicorn;

/// <summary>
/// One Unicorn instance (<c>uc_engine</c>, one x86 CPU) and its memory map. Unicorn is not thread-safe:
/// the vCPU thread owns the engine while guest code runs, and any other thread calls it only under
/// <see cref="_lock"/> while it is idle. A map change from another thread during a run is kept
/// pending, the vCPU is asked to stop at its next block (by its own block hook, never by a
/// cross-thread <c>uc_emu_stop</c>), and the change is applied before the guest resumes; a change
/// made by the guest itself (a PAM write from a port hook) is applied at once.
/// </summary>
internal sealed class UnicornEngine : IDisposable
{
    private readonly object _lock = new();
    private readonly List<UnicornMapping> _current = [];
    private readonly List<GCHandle> _retired = [];
    private readonly Dictionary<ulong, (UnicornMapping Mapping, GCHandle Handle)> _windows = [];
    private readonly UnicornAccelerator _accel;
    private GCHandle _self;
    private nint _uc;
    private nint _realModeContext;
    private nint _protectedContext;
    private List<UnicornMapping>? _desired;
    private bool _running;
    private int _engineThread;
    private volatile bool _applyPending;
    private volatile bool _kick;

    public UnicornEngine(UnicornAccelerator accel)
    {
        _accel = accel;
        _self = GCHandle.Alloc(this);
        try
        {
            Open();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>EAX, EBX, ECX, EDX of Unicorn's own CPUID leaf 1, read when the engine was opened.</summary>
    internal uint[] CpuidLeaf1 { get; private set; } = new uint[4];

    /// <summary>The raw engine, for the vCPU.</summary>
    internal nint Handle => _uc;

    internal nint SelfHandle => GCHandle.ToIntPtr(_self);

    /// <summary>The vCPU running on this engine, once created.</summary>
    internal UnicornVcpu? Vcpu { get; set; }

    /// <summary>The current map, in address order.</summary>
    public IReadOnlyList<UnicornMapping> Mappings
    {
        get
        {
            lock (_lock)
            {
                return [.. _current.OrderBy(m => m.Start)];
            }
        }
    }

    /// <summary>Whether the calling thread may use the engine now: it is idle (caller holds the lock), or this is the vCPU thread inside a hook.</summary>
    internal bool OnEngineThreadInHook => _running && Environment.CurrentManagedThreadId == _engineThread;

    // SAFETY: the locals whose addresses are passed live for the call; the stub page is allocated,
    // mapped, run and unmapped here, and freed only after Unicorn has unmapped it.
    private unsafe void Open()
    {
        nint uc;
        Check(UnicornLib.Open(UnicornAbi.ArchX86, UnicornAbi.Mode32, &uc), "uc_open");
        _uc = uc;
        nint ctx;
        Check(UnicornLib.ContextAlloc(_uc, &ctx), "uc_context_alloc");
        _protectedContext = ctx;
        Check(UnicornLib.ContextSave(_uc, _protectedContext), "uc_context_save");
        // Real mode: writing CR0 through the API leaves the translator in protected mode, so run one
        // real "mov cr0" from a scratch page (mov eax, cr0; and al, 0xfe; mov cr0, eax; hlt).
        byte* stub = (byte*)NativeMemory.AlignedAlloc(4096, 4096);
        try
        {
            new Span<byte>(stub, 4096).Fill(0xf4);
            ReadOnlySpan<byte> code = [0x0f, 0x20, 0xc0, 0x24, 0xfe, 0x0f, 0x22, 0xc0, 0xf4];
            code.CopyTo(new Span<byte>(stub, 4096));
            // Unicorn's own CPUID leaf 1 (mov eax, 1; cpuid; hlt), which the vCPU's CPUID hook extends.
            ReadOnlySpan<byte> cpuid = [0xb8, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2, 0xf4];
            cpuid.CopyTo(new Span<byte>(stub + 0x100, 4096 - 0x100));
            Check(UnicornLib.MemMapPtr(_uc, 0, 4096, UnicornAbi.ProtAll, (nint)stub), "uc_mem_map_ptr (reset stub)");
            int r = UnicornLib.EmuStart(_uc, 0x100, ulong.MaxValue, 0, 0);
            if (r == UnicornAbi.ErrOk)
            {
                uint[] leaf = new uint[4];
                int[] regs = [UnicornAbi.RegEax, UnicornAbi.RegEbx, UnicornAbi.RegEcx, UnicornAbi.RegEdx];
                for (int i = 0; i < 4; i++)
                {
                    ulong v = 0;
                    UnicornLib.RegRead(_uc, regs[i], &v);
                    leaf[i] = (uint)v;
                }
                CpuidLeaf1 = leaf;
            }
            r = UnicornLib.EmuStart(_uc, 0, ulong.MaxValue, 0, 0);
            Check(UnicornLib.MemUnmap(_uc, 0, 4096), "uc_mem_unmap (reset stub)");
            Check(r, "uc_emu_start (reset stub)");
        }
        finally
        {
            NativeMemory.AlignedFree(stub);
        }
        // The architectural reset values of the descriptor-table registers: base 0, limit 0xffff.
        var table = new UcX86Mmr { Limit = 0xffff };
        Check(UnicornLib.RegWrite(_uc, UnicornAbi.RegIdtr, &table), "uc_reg_write (IDTR)");
        Check(UnicornLib.RegWrite(_uc, UnicornAbi.RegGdtr, &table), "uc_reg_write (GDTR)");
        Check(UnicornLib.ContextAlloc(_uc, &ctx), "uc_context_alloc");
        _realModeContext = ctx;
        Check(UnicornLib.ContextSave(_uc, _realModeContext), "uc_context_save");
    }

    internal static void Check(int err, string call)
    {
        if (err != UnicornAbi.ErrOk)
        {
            throw new UnicornException(call, err);
        }
    }

    /// <summary>Runs <paramref name="action"/> with the engine to itself: under the lock, and only while no guest code runs on another thread.</summary>
    internal T WithEngine<T>(Func<T> action)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_uc == 0, this);
            if (_running && !OnEngineThreadInHook)
            {
                throw new InvalidOperationException("the Unicorn vCPU is running guest code; pause it first");
            }
            return action();
        }
    }

    /// <summary>Restores the saved real-mode (or, for <paramref name="realMode"/> false, flat protected-mode) CPU state.</summary>
    internal void RestoreContext(bool realMode)
        => Check(UnicornLib.ContextRestore(_uc, realMode ? _realModeContext : _protectedContext), "uc_context_restore");

    /// <summary>Takes the mapping a commit needs; applies it now if the engine is free, else at the vCPU's next stop.</summary>
    public void SetDesired(List<UnicornMapping> desired)
    {
        lock (_lock)
        {
            if (_uc == 0)
            {
                return;
            }
            _desired = desired;
            if (!_running || OnEngineThreadInHook)
            {
                ApplyDesired();
            }
            else
            {
                _applyPending = true;
            }
        }
    }

    /// <summary>Asks a running guest to stop at its next block (the vCPU's own hook does the stopping).</summary>
    public void Kick() => _kick = true;

    /// <summary>Whether a stop has been asked for (consumed by the run loop).</summary>
    internal bool TakeKick()
    {
        bool k = _kick;
        _kick = false;
        return k;
    }

    internal bool StopWanted => _kick || _applyPending || _interruptWindow;

    /// <summary>Whether a kick is waiting to be reported (not consumed).</summary>
    internal bool KickPending => _kick;

    private volatile bool _interruptWindow;

    /// <summary>Asks the guest to stop at its next block so that a raised interrupt can be delivered.</summary>
    internal void RequestInterruptWindow() => _interruptWindow = true;

    /// <summary>Clears <see cref="RequestInterruptWindow"/> (at the start of each run).</summary>
    internal void ClearInterruptWindow() => _interruptWindow = false;

    /// <summary>Enters guest code: applies what is pending and marks the engine as owned by this thread.</summary>
    internal void EnterRun()
    {
        lock (_lock)
        {
            ApplyDesired();
            FreeRetired();
            _engineThread = Environment.CurrentManagedThreadId;
            _running = true;
        }
    }

    /// <summary>Leaves guest code: applies map changes that arrived meanwhile.</summary>
    internal void LeaveRun()
    {
        lock (_lock)
        {
            _running = false;
            ApplyDesired();
            FreeRetired();
        }
    }

    /// <summary>Applies the difference between the current and the desired map: removals first, then additions.</summary>
    private void ApplyDesired()
    {
        _applyPending = false;
        if (_desired is not { } desired)
        {
            return;
        }
        _desired = null;
        var keep = new HashSet<UnicornMapping>(ReferenceEqualityComparer.Instance);
        var add = new List<UnicornMapping>();
        int d = 0;
        var current = _current.OrderBy(m => m.Start).ToList();
        foreach (UnicornMapping want in desired)
        {
            UnicornMapping? same = current.Find(m => m.SameAs(want));
            if (same is not null)
            {
                keep.Add(same);
            }
            else
            {
                add.Add(want);
            }
            d++;
        }
        foreach (UnicornMapping m in current)
        {
            if (keep.Contains(m))
            {
                continue;
            }
            if (m.Kind == UnicornMappingKind.Unassigned && !add.Any(a => a.Start < m.End && m.Start < a.End))
            {
                continue; // still unclaimed
            }
            Unmap(m);
        }
        foreach (UnicornMapping m in add)
        {
            Map(m);
        }
    }

    private void Unmap(UnicornMapping m)
    {
        int r = UnicornLib.MemUnmap(_uc, m.Start, (nuint)m.Size);
        _current.Remove(m);
        _accel.Traced(new UnicornMapEvent("uc_mem_unmap", m.Start, m.Size, 0, 0, r, m.Region));
        if (m.Kind == UnicornMappingKind.Ram)
        {
            m.Block?.RemoveMapping();
        }
        else if (_windows.Remove(m.Start, out var w))
        {
            _retired.Add(w.Handle);
        }
    }

    // SAFETY: the callbacks are static unmanaged entry points; their user data is a GC handle to the
    // window, freed only after Unicorn has unmapped the window and no guest code runs (FreeRetired).
    private unsafe void Map(UnicornMapping m)
    {
        int r;
        if (m.Kind == UnicornMappingKind.Ram)
        {
            r = UnicornLib.MemMapPtr(_uc, m.Start, (nuint)m.Size, (uint)m.Perms, m.Host);
            _accel.Traced(new UnicornMapEvent("uc_mem_map_ptr", m.Start, m.Size, m.Perms, (ulong)m.Host, r, m.Region));
            if (r == UnicornAbi.ErrOk)
            {
                m.Block?.AddMapping();
            }
        }
        else
        {
            var handle = GCHandle.Alloc(new Window(this, m.Start));
            nint data = GCHandle.ToIntPtr(handle);
            r = UnicornLib.MmioMap(_uc, m.Start, (nuint)m.Size, (nint)(delegate* unmanaged<nint, ulong, uint, nint, ulong>)&MmioRead, data,
                (nint)(delegate* unmanaged<nint, ulong, uint, ulong, nint, void>)&MmioWrite, data);
            _accel.Traced(new UnicornMapEvent("uc_mmio_map", m.Start, m.Size, 0, 0, r, m.Region));
            if (r == UnicornAbi.ErrOk)
            {
                _windows[m.Start] = (m, handle);
            }
            else
            {
                handle.Free();
            }
        }
        if (r == UnicornAbi.ErrOk)
        {
            _current.Add(m);
        }
    }

    /// <summary>Maps an "unassigned" window over the page of <paramref name="address"/> (the guest touched a page nothing claims). On the vCPU thread, inside a hook.</summary>
    internal bool MapUnassigned(ulong address)
    {
        lock (_lock)
        {
            if (_applyPending)
            {
                ApplyDesired();
            }
            ulong page = address & ~(UnicornMemoryListener.PageSize - 1);
            if (_current.Any(m => m.Start <= page && page < m.End))
            {
                return true; // mapped meanwhile (a pending change)
            }
            if (address >= UnicornMemoryListener.AddressLimit)
            {
                return false;
            }
            Map(new UnicornMapping(UnicornMappingKind.Unassigned, page, UnicornMemoryListener.PageSize, 0, 0, "unassigned"));
            return _current.Any(m => m.Start == page);
        }
    }

    private void FreeRetired()
    {
        foreach (GCHandle h in _retired)
        {
            h.Free();
        }
        _retired.Clear();
    }

    /// <summary>An MMIO window: accesses go to the vCPU as MMIO exits, or straight to the address space.</summary>
    private sealed class Window(UnicornEngine engine, ulong start)
    {
        public UnicornEngine Engine => engine;

        public ulong Read(ulong offset, uint size) => engine.Access(start + offset, size, false, 0);

        public void Write(ulong offset, uint size, ulong value) => engine.Access(start + offset, size, true, value);
    }

    /// <summary>Serves one access to a window or a refused ROM write.</summary>
    internal ulong Access(ulong address, uint size, bool isWrite, ulong value)
    {
        if (size is 0 or > 8)
        {
            return 0;
        }
        Span<byte> data = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(data, value);
        var exit = new PendingExit(VcpuExitKind.Mmio, address, size, 1, isWrite, data[..(int)size]);
        if (Vcpu is { } vcpu)
        {
            vcpu.Serve(exit);
        }
        else
        {
            ExitServer.Serve(exit, _accel.MemorySpace, _accel.IoSpace ?? _accel.MemorySpace);
        }
        return isWrite ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(data);
    }

    [UnmanagedCallersOnly]
    private static ulong MmioRead(nint uc, ulong offset, uint size, nint user)
    {
        var w = (Window)GCHandle.FromIntPtr(user).Target!;
        try
        {
            return w.Read(offset, size);
        }
        catch (Exception e)
        {
            w.Engine.Fail(e);
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static void MmioWrite(nint uc, ulong offset, uint size, ulong value, nint user)
    {
        var w = (Window)GCHandle.FromIntPtr(user).Target!;
        try
        {
            w.Write(offset, size, value);
        }
        catch (Exception e)
        {
            w.Engine.Fail(e);
        }
    }

    /// <summary>The first exception a callback threw during the current run, or null.</summary>
    internal Exception? Failure { get; set; }

    /// <summary>Records an exception thrown inside a callback and stops emulation (on the vCPU thread).</summary>
    internal void Fail(Exception e)
    {
        try
        {
            Failure ??= e;
            UnicornLib.EmuStop(_uc);
        }
        catch
        {
            // Nothing more can be done inside a native callback.
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_uc != 0)
            {
                foreach (UnicornMapping m in _current.ToList())
                {
                    UnicornLib.MemUnmap(_uc, m.Start, (nuint)m.Size);
                    if (m.Kind == UnicornMappingKind.Ram)
                    {
                        m.Block?.RemoveMapping();
                    }
                }
                _current.Clear();
                if (_realModeContext != 0)
                {
                    UnicornLib.ContextFree(_realModeContext);
                    _realModeContext = 0;
                }
                if (_protectedContext != 0)
                {
                    UnicornLib.ContextFree(_protectedContext);
                    _protectedContext = 0;
                }
                UnicornLib.Close(_uc);
                _uc = 0;
            }
            foreach (var w in _windows.Values)
            {
                _retired.Add(w.Handle);
            }
            _windows.Clear();
            FreeRetired();
            if (_self.IsAllocated)
            {
                _self.Free();
            }
        }
    }
}
