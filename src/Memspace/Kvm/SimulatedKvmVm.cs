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
    private readonly KvmChipState[]? _irqchip;
    private readonly KvmChipState? _pit;

    /// <summary>Creates a simulated VM.</summary>
    /// <param name="nrMemslots">Slot limit to enforce.</param>
    /// <param name="readonlyMemSupported">Whether read-only slots are offered.</param>
    /// <param name="addressSpaces">Memory address spaces (2 on x86: normal and SMM).</param>
    /// <param name="inKernelIrqchip">Keep the state of an in-kernel PIC pair, IOAPIC and PIT in memory, as KVM
    /// would after <c>KVM_CREATE_IRQCHIP</c> and <c>KVM_CREATE_PIT2</c> (for the state round trip without <c>/dev/kvm</c>).</param>
    public SimulatedKvmVm(int nrMemslots = 32764, bool readonlyMemSupported = true, int addressSpaces = 2, bool inKernelIrqchip = false)
    {
        if (inKernelIrqchip)
        {
            _irqchip = [KvmChipState.ForIrqchip(KvmIrqchipId.PicMaster), KvmChipState.ForIrqchip(KvmIrqchipId.PicSlave), KvmChipState.ForIrqchip(KvmIrqchipId.Ioapic)];
            // KVM's reset state: ELCR masks per chip, IOAPIC at 0xfec00000 with every pin masked, PIT counters
            // at 65536 with their gates high and no mode programmed.
            _irqchip[0]["elcr_mask"] = 0xf8;
            _irqchip[1]["elcr_mask"] = 0xde;
            _irqchip[2]["base_address"] = 0xfec00000;
            for (int i = 0; i < 24; i++)
            {
                _irqchip[2][$"redirtbl[{i}]"] = 1UL << 16;
            }
            _pit = KvmChipState.ForPit();
            for (int c = 0; c < 3; c++)
            {
                _pit[$"channels[{c}].count"] = 0x10000;
                _pit[$"channels[{c}].mode"] = 0xff;
                _pit[$"channels[{c}].gate"] = c == 2 ? 0UL : 1UL;
            }
        }
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

    /// <inheritdoc/>
    public bool HasInKernelIrqchip => _irqchip is not null;

    /// <inheritdoc/>
    public KvmChipState GetIrqchip(KvmIrqchipId chip)
    {
        Calls.Add($"get_irqchip chip={(int)chip}");
        KvmChipState[] chips = _irqchip ?? throw new KvmException("KVM_GET_IRQCHIP", 6, "no in-kernel irqchip"); // ENXIO
        return (uint)chip < 3 ? chips[(int)chip].Clone() : throw new KvmException("KVM_GET_IRQCHIP", 22, $"chip {(int)chip}");
    }

    /// <inheritdoc/>
    public void SetIrqchip(KvmIrqchipId chip, KvmChipState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Calls.Add($"set_irqchip chip={(int)chip}");
        KvmChipState[] chips = _irqchip ?? throw new KvmException("KVM_SET_IRQCHIP", 6, "no in-kernel irqchip");
        if ((uint)chip >= 3 || state.StructName != chips[(int)chip].StructName)
        {
            throw new KvmException("KVM_SET_IRQCHIP", 22, $"chip {(int)chip}");
        }
        chips[(int)chip] = state.Clone();
    }

    /// <inheritdoc/>
    public KvmChipState GetPit()
    {
        Calls.Add("get_pit2");
        return (_pit ?? throw new KvmException("KVM_GET_PIT2", 6, "no in-kernel PIT")).Clone();
    }

    /// <inheritdoc/>
    public void SetPit(KvmChipState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Calls.Add("set_pit2");
        KvmChipState pit = _pit ?? throw new KvmException("KVM_SET_PIT2", 6, "no in-kernel PIT");
        if (state.StructName != pit.StructName)
        {
            throw new KvmException("KVM_SET_PIT2", 22);
        }
        pit.CopyFrom(state.Bytes);
    }

    private static ulong HostMemoryPage => Ram.HostMemory.HostPageSize;
}
