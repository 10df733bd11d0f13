using Memspace.Interop;
using Memspace.Vcpus;

namespace Memspace.Unicorn;

/// <summary>
/// The Unicorn accelerator of one machine: QEMU's TCG, packaged as Debian's libunicorn2, behind the same
/// memory-listener interface as KVM. It registers the "unicorn-memory" listener on the memory address
/// space (port I/O needs no listener: IN and OUT reach the I/O address space through hooks) and keeps the
/// trace of every change to Unicorn's memory map. Unicorn emulates one CPU per engine, so a machine
/// on it has one vCPU.
/// </summary>
/// <remarks>
/// As with KVM, create it before the board adds memory: registration replays an empty view, and each
/// RAM, ROM and MMIO section then reaches Unicorn at the commit that maps it.
/// </remarks>
public sealed class UnicornAccelerator : IDisposable
{
    private readonly List<UnicornMapEvent> _trace = [];
    private readonly Lock _traceLock = new();
    private bool _vcpuCreated;

    private UnicornAccelerator(MemorySystem system, AddressSpace memory, AddressSpace? io)
    {
        System = system;
        MemorySpace = memory;
        IoSpace = io;
        Engine = new UnicornEngine(this);
        MemoryListener = new UnicornMemoryListener(this);
    }

    /// <summary>Whether Unicorn can be used here; <paramref name="reason"/> says why not (and which package to install).</summary>
    /// <param name="reason">Why not, or empty.</param>
    public static bool IsAvailable(out string reason) => UnicornLib.IsAvailable(out reason);

    /// <summary>Opens a Unicorn engine and registers the "unicorn-memory" listener on <paramref name="memory"/>.</summary>
    /// <param name="system">The machine's memory system.</param>
    /// <param name="memory">The memory address space.</param>
    /// <param name="io">The I/O address space, or null.</param>
    /// <exception cref="UnicornUnavailableException">libunicorn2 cannot be loaded; the message says why.</exception>
    public static UnicornAccelerator Create(MemorySystem system, AddressSpace memory, AddressSpace? io)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(memory);
        if (!IsAvailable(out string reason))
        {
            throw new UnicornUnavailableException(reason);
        }
        var accel = new UnicornAccelerator(system, memory, io);
        try
        {
            memory.RegisterListener(accel.MemoryListener);
        }
        catch
        {
            accel.Engine.Dispose();
            throw;
        }
        return accel;
    }

    /// <summary>The memory system.</summary>
    public MemorySystem System { get; }

    /// <summary>The memory address space.</summary>
    public AddressSpace MemorySpace { get; }

    /// <summary>The I/O address space, or null.</summary>
    public AddressSpace? IoSpace { get; }

    /// <summary>The "unicorn-memory" listener.</summary>
    public UnicornMemoryListener MemoryListener { get; }

    internal UnicornEngine Engine { get; }

    /// <summary>Unicorn's memory map now, in address order.</summary>
    public IReadOnlyList<UnicornMapping> Mappings => Engine.Mappings;

    /// <summary>Every change to Unicorn's memory map so far, in order.</summary>
    public IReadOnlyList<UnicornMapEvent> Trace
    {
        get
        {
            lock (_traceLock)
            {
                return [.. _trace];
            }
        }
    }

    /// <summary>Raised after every <c>uc_mem_map_ptr</c>, <c>uc_mmio_map</c> and <c>uc_mem_unmap</c>.</summary>
    public event Action<UnicornMapEvent>? MapChanged;

    /// <summary>Creates the vCPU (in Unicorn's flat protected-mode state; see <see cref="Vcpu.SetResetState"/>).</summary>
    /// <param name="index">vCPU id.</param>
    /// <param name="memory">Where MMIO exits go.</param>
    /// <param name="io">Where port I/O exits go.</param>
    /// <exception cref="UnicornException">A vCPU exists already (one per engine).</exception>
    public Vcpu CreateVcpu(int index, AddressSpace memory, AddressSpace io)
    {
        if (_vcpuCreated)
        {
            throw new UnicornException("Unicorn emulates one CPU per engine; this machine's vCPU exists already");
        }
        _vcpuCreated = true;
        return new Vcpu(new UnicornVcpu(this, index), memory, io);
    }

    internal void Traced(UnicornMapEvent e)
    {
        lock (_traceLock)
        {
            _trace.Add(e);
        }
        MapChanged?.Invoke(e);
    }

    /// <summary>Unregisters the listener and closes the engine.</summary>
    public void Dispose()
    {
        MemorySpace.UnregisterListener(MemoryListener);
        Engine.Dispose();
    }
}
