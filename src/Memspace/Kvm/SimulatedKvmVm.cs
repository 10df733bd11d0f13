using Memspace.Interop;

namespace Memspace.Kvm;

/// <summary>
/// An <see cref="IKvmVm"/> that keeps the slot table the kernel would keep and checks what the
/// kernel checks (page alignment, no overlapping slots, the slot limit), without <c>/dev/kvm</c>.
/// </summary>
public sealed class SimulatedKvmVm : IKvmVm
{
    private readonly Dictionary<uint, KvmUserspaceMemoryRegion> _slots = [];
    private readonly Dictionary<uint, HashSet<ulong>> _dirty = [];

    /// <summary>Creates a simulated VM.</summary>
    /// <param name="nrMemslots">Slot limit to enforce.</param>
    /// <param name="readonlyMemSupported">Whether read-only slots are offered.</param>
    /// <param name="addressSpaces">Memory address spaces (2 on x86: normal and SMM).</param>
    public SimulatedKvmVm(int nrMemslots = 32764, bool readonlyMemSupported = true, int addressSpaces = 2)
    {
        AddressSpaces = addressSpaces;
        NrMemslots = nrMemslots;
        ReadonlyMemSupported = readonlyMemSupported;
    }

    /// <inheritdoc/>
    public int NrMemslots { get; }

    /// <inheritdoc/>
    public bool ReadonlyMemSupported { get; }

    /// <inheritdoc/>
    public int AddressSpaces { get; }

    /// <summary>The slots currently set, by slot id.</summary>
    public IReadOnlyDictionary<uint, KvmUserspaceMemoryRegion> Slots => _slots;

    /// <summary>Every call made, as a line, in order.</summary>
    public List<string> Calls { get; } = [];

    /// <summary>Marks a page of a slot dirty, as a guest write would; returned by the next <see cref="GetDirtyLog"/>.</summary>
    /// <param name="slot">Slot id.</param>
    /// <param name="page">Page index inside the slot.</param>
    public void MarkDirty(uint slot, ulong page) => (_dirty.TryGetValue(slot, out var set) ? set : _dirty[slot] = []).Add(page);

    /// <inheritdoc/>
    public int SetUserMemoryRegion(in KvmUserspaceMemoryRegion region)
    {
        Calls.Add($"set slot={region.Slot} flags=0x{region.Flags:x} gpa=0x{region.GuestPhysAddr:x} size=0x{region.MemorySize:x}");
        const int einval = 22, eexist = 17;
        if ((region.Slot & 0xffff) >= NrMemslots || (region.Slot >> 16) >= AddressSpaces)
        {
            return -einval;
        }
        if (region.MemorySize == 0)
        {
            _slots.Remove(region.Slot);
            _dirty.Remove(region.Slot);
            return 0;
        }
        ulong page = HostMemoryPage;
        if (region.GuestPhysAddr % page != 0 || region.MemorySize % page != 0 || region.UserspaceAddr % page != 0)
        {
            return -einval;
        }
        if (_slots.TryGetValue(region.Slot, out KvmUserspaceMemoryRegion existing)
            && (existing.GuestPhysAddr != region.GuestPhysAddr || existing.MemorySize != region.MemorySize
                || ((existing.Flags ^ region.Flags) & KvmAbi.MemReadonly) != 0))
        {
            // The kernel only lets a live slot change its dirty-logging flag.
            return -einval;
        }
        foreach ((uint id, KvmUserspaceMemoryRegion other) in _slots)
        {
            if (id != region.Slot && (id >> 16) == (region.Slot >> 16)
                && region.GuestPhysAddr < other.GuestPhysAddr + other.MemorySize
                && other.GuestPhysAddr < region.GuestPhysAddr + region.MemorySize)
            {
                return -eexist;
            }
        }
        _slots[region.Slot] = region;
        return 0;
    }

    /// <inheritdoc/>
    public int GetDirtyLog(uint slot, ulong[] bitmap)
    {
        Calls.Add($"get_dirty_log slot={slot}");
        if (!_slots.TryGetValue(slot, out KvmUserspaceMemoryRegion r) || (r.Flags & KvmAbi.MemLogDirtyPages) == 0)
        {
            return -2; // ENOENT
        }
        Array.Clear(bitmap);
        if (_dirty.Remove(slot, out HashSet<ulong>? pages))
        {
            foreach (ulong p in pages)
            {
                bitmap[p / 64] |= 1UL << (int)(p % 64);
            }
        }
        return 0;
    }

    /// <inheritdoc/>
    public int Ioeventfd(ulong address, uint length, ulong datamatch, int fd, uint flags)
    {
        Calls.Add($"ioeventfd addr=0x{address:x} len={length} datamatch=0x{datamatch:x} flags=0x{flags:x}");
        return 0;
    }

    private static ulong HostMemoryPage => Ram.HostMemory.HostPageSize;
}
