using Memspace.Core;
using Memspace.Interop;
using Memspace.Listeners;
using Memspace.Ram;
using Memspace.Regions;

namespace Memspace.Kvm;

/// <summary>
/// Turns the sections of one address space into KVM memory slots (QEMU's <c>KVMMemoryListener</c>,
/// "kvm-memory"): <c>region_add</c> maps RAM-backed sections, <c>region_del</c> unmaps them,
/// <c>log_start</c>/<c>log_stop</c> flip <c>KVM_MEM_LOG_DIRTY_PAGES</c>, <c>log_sync</c> pulls the
/// dirty log into the RAMBlock bitmaps, and ioeventfds become <c>KVM_IOEVENTFD</c>s.
/// </summary>
/// <remarks>
/// <para>
/// A section gets a slot when it is RAM, or a read-only ROM device in romd mode (a read-only slot,
/// <c>KVM_MEM_READONLY</c>); its start is rounded up and its end down to host pages, and sub-page
/// pieces stay MMIO. The slot id is the lowest free one; the table starts at 16 entries and doubles up
/// to <see cref="IKvmVm.NrMemslots"/>.
/// </para>
/// <para>
/// Read-only: QEMU 7.2 looks at the region's own flag, so a read-only alias of RAM (PAM's
/// <c>pam-rom</c>) is mapped writable. With <see cref="MemorySystemOptions.HonourSectionReadOnly"/>
/// (the default) the section's flag counts: such a range gets a read-only slot, and guest writes to it
/// exit to userspace, where the address space refuses them.
/// </para>
/// </remarks>
public sealed class KvmMemoryListener : MemoryListener
{
    /// <summary>Slots allocated at first (QEMU's <c>KVM_MEMSLOTS_NR_ALLOC_DEFAULT</c>).</summary>
    public const int InitialSlots = 16;

    private readonly KvmAccelerator _accel;
    private readonly List<KvmSlot> _slots = [];

    internal KvmMemoryListener(KvmAccelerator accel, int asId, string name) : base(name, ListenerPriority.Accel)
    {
        _accel = accel;
        AsId = asId;
        Grow(InitialSlots);
    }

    /// <summary>KVM address-space id of this listener's slots.</summary>
    public int AsId { get; }

    /// <summary>Largest slot KVM accepts (QEMU's <c>kvm_max_slot_size</c>); larger sections are split.</summary>
    public ulong MaxSlotSize { get; init; } = ulong.MaxValue;

    /// <summary>Entries allocated in the slot table.</summary>
    public int SlotsAllocated => _slots.Count;

    /// <summary>The slots in use, by slot id.</summary>
    public IReadOnlyList<KvmSlot> Slots => _slots.Where(s => s.MemorySize != 0).ToList();

    private IKvmVm Vm => _accel.Vm;

    /// <summary>The slot with exactly this start and size (QEMU's <c>kvm_lookup_matching_slot</c>), or null.</summary>
    /// <param name="start">Guest-physical start.</param>
    /// <param name="size">Size.</param>
    public KvmSlot? FindSlot(ulong start, ulong size)
        => _slots.Find(s => s.MemorySize != 0 && s.StartAddr == start && s.MemorySize == size);

    /// <inheritdoc/>
    public override void RegionAdd(in MemoryRegionSection section) => SetPhysMem(section, add: true);

    /// <inheritdoc/>
    public override void RegionDel(in MemoryRegionSection section) => SetPhysMem(section, add: false);

    /// <inheritdoc/>
    public override void LogStart(in MemoryRegionSection section, byte oldMask, byte newMask)
    {
        if (oldMask == 0)
        {
            UpdateFlags(section);
        }
    }

    /// <inheritdoc/>
    public override void LogStop(in MemoryRegionSection section, byte oldMask, byte newMask)
    {
        if (newMask == 0)
        {
            UpdateFlags(section);
        }
    }

    /// <inheritdoc/>
    public override void LogSync(in MemoryRegionSection section)
    {
        (ulong start, ulong size) = Align(section);
        while (size > 0)
        {
            ulong slotSize = Math.Min(MaxSlotSize, size);
            if (FindSlot(start, slotSize) is { } slot && slot.DirtyBitmap is not null && GetDirtyLog(slot))
            {
                SyncDirtyPages(slot);
            }
            start += slotSize;
            size -= slotSize;
        }
    }

    /// <inheritdoc/>
    public override void EventfdAdd(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier)
        => _accel.SetIoeventfd(section, matchData, data, notifier, pio: false, assign: true);

    /// <inheritdoc/>
    public override void EventfdDel(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier)
        => _accel.SetIoeventfd(section, matchData, data, notifier, pio: false, assign: false);

    /// <summary>QEMU's <c>kvm_set_phys_mem</c>.</summary>
    private void SetPhysMem(in MemoryRegionSection section, bool add)
    {
        MemoryRegion mr = section.Region!;
        bool readOnly = ReadOnlyForKvm(section);
        bool writable = !readOnly && !mr.IsRomDevice;
        if (!mr.IsRam)
        {
            if (writable || !Vm.ReadonlyMemSupported)
            {
                return;
            }
            if (!mr.RomdMode)
            {
                // A ROM device out of romd mode traps every access: it must have no slot.
                add = false;
            }
        }
        if (mr.RamBlock is not { Host: not 0 } block)
        {
            return; // no host memory to give KVM (an imported map)
        }
        (ulong start, ulong size) = Align(section);
        if (size == 0)
        {
            return;
        }
        ulong mrOffset = section.OffsetWithinRegion + start - section.OffsetWithinAddressSpace;
        nint ram = block.Host + (nint)mrOffset;
        ulong ramStartOffset = block.Offset + mrOffset;
        if (!add)
        {
            while (size > 0)
            {
                ulong slotSize = Math.Min(MaxSlotSize, size);
                if (FindSlot(start, slotSize) is not { } slot)
                {
                    return;
                }
                if (slot.DirtyBitmap is not null && GetDirtyLog(slot))
                {
                    SyncDirtyPages(slot);
                }
                slot.DirtyBitmap = null;
                slot.MemorySize = 0;
                slot.Flags = 0;
                int err = SetUserMemoryRegion(slot, isNew: false);
                if (err < 0)
                {
                    throw new KvmException($"{Name}: KVM refused to remove slot {slot.Slot} at 0x{slot.StartAddr:x}: errno {-err}");
                }
                start += slotSize;
                size -= slotSize;
            }
            return;
        }
        ulong chunks = (size + MaxSlotSize - 1) / MaxSlotSize;
        if (chunks == 0)
        {
            chunks = 1;
        }
        if ((ulong)FreeSlotsAfterGrowing() < chunks)
        {
            throw new KvmException($"{Name}: no free KVM memory slot for '{mr.Name}' at 0x{start:x} (+0x{size:x}): all {Vm.NrMemslots} slots (KVM_CAP_NR_MEMSLOTS) are in use");
        }
        while (size > 0)
        {
            ulong slotSize = Math.Min(MaxSlotSize, size);
            KvmSlot slot = AllocSlot();
            slot.MemorySize = slotSize;
            slot.StartAddr = start;
            slot.RamStartOffset = ramStartOffset;
            slot.Ram = ram;
            slot.Flags = MemFlags(section);
            InitDirtyBitmap(slot);
            int err = SetUserMemoryRegion(slot, isNew: true);
            if (err < 0)
            {
                slot.MemorySize = 0;
                slot.Flags = 0;
                slot.DirtyBitmap = null;
                throw new KvmException($"{Name}: KVM refused slot {slot.Slot} for '{mr.Name}' at 0x{start:x} (+0x{slotSize:x}): errno {-err}");
            }
            start += slotSize;
            ramStartOffset += slotSize;
            ram += (nint)slotSize;
            size -= slotSize;
        }
    }

    /// <summary>QEMU's <c>kvm_section_update_flags</c>: re-issues the matching slots with new flags.</summary>
    private void UpdateFlags(in MemoryRegionSection section)
    {
        (ulong start, ulong size) = Align(section);
        while (size > 0)
        {
            ulong slotSize = Math.Min(MaxSlotSize, size);
            if (FindSlot(start, slotSize) is not { } slot)
            {
                return; // no slot: every access traps anyway
            }
            slot.Flags = MemFlags(section);
            if (slot.Flags != slot.OldFlags)
            {
                InitDirtyBitmap(slot);
                if ((slot.Flags & KvmAbi.MemLogDirtyPages) == 0)
                {
                    slot.DirtyBitmap = null;
                }
                int err = SetUserMemoryRegion(slot, isNew: false);
                if (err < 0)
                {
                    throw new KvmException($"{Name}: KVM refused new flags 0x{slot.Flags:x} for slot {slot.Slot}: errno {-err}");
                }
            }
            start += slotSize;
            size -= slotSize;
        }
    }

    /// <summary>Whether the section counts as read-only for KVM (see the class remarks).</summary>
    private bool ReadOnlyForKvm(in MemoryRegionSection section)
    {
        MemoryRegion mr = section.Region!;
        return mr.ReadOnly || (_accel.System.Options.HonourSectionReadOnly && section.ReadOnly);
    }

    /// <summary>QEMU's <c>kvm_mem_flags</c>.</summary>
    private uint MemFlags(in MemoryRegionSection section)
    {
        MemoryRegion mr = section.Region!;
        uint flags = 0;
        if (mr.DirtyLogMask != 0)
        {
            flags |= KvmAbi.MemLogDirtyPages;
        }
        if ((ReadOnlyForKvm(section) || mr.IsRomd) && Vm.ReadonlyMemSupported)
        {
            flags |= KvmAbi.MemReadonly;
        }
        return flags;
    }

    /// <summary>QEMU's <c>kvm_align_section</c>: start rounded up, end rounded down, to host pages.</summary>
    private static (ulong Start, ulong Size) Align(in MemoryRegionSection section)
    {
        ulong page = HostMemory.HostPageSize;
        UInt128 size = section.Size;
        ulong start = section.OffsetWithinAddressSpace;
        UInt128 aligned = ((UInt128)start + page - 1) & ~(UInt128)(page - 1);
        UInt128 delta = aligned - start;
        if (delta > size || aligned > ulong.MaxValue)
        {
            return (0, 0);
        }
        UInt128 rest = (size - delta) & ~(UInt128)(page - 1);
        return ((ulong)aligned, rest > ulong.MaxValue - page + 1 ? ulong.MaxValue - page + 1 : (ulong)rest);
    }

    private KvmSlot AllocSlot()
    {
        KvmSlot? free = _slots.Find(s => s.MemorySize == 0);
        if (free is null)
        {
            int n = _slots.Count;
            Grow(Math.Min(n * 2, Vm.NrMemslots));
            free = _slots[n];
        }
        return free;
    }

    private int FreeSlotsAfterGrowing() => _slots.Count(s => s.MemorySize == 0) + (Vm.NrMemslots - _slots.Count);

    private void Grow(int count)
    {
        for (int i = _slots.Count; i < count; i++)
        {
            _slots.Add(new KvmSlot(i, AsId));
        }
    }

    private static void InitDirtyBitmap(KvmSlot slot)
    {
        if ((slot.Flags & KvmAbi.MemLogDirtyPages) == 0 || slot.DirtyBitmap is not null)
        {
            return;
        }
        ulong pages = slot.MemorySize / HostMemory.HostPageSize;
        slot.DirtyBitmap = new ulong[(pages + 63) / 64];
    }

    /// <summary>QEMU's <c>kvm_set_user_memory_region</c>, with its trace event.</summary>
    private int SetUserMemoryRegion(KvmSlot slot, bool isNew)
    {
        var mem = new KvmUserspaceMemoryRegion
        {
            Slot = slot.KernelSlot,
            GuestPhysAddr = slot.StartAddr,
            UserspaceAddr = (ulong)slot.Ram,
            Flags = slot.Flags,
        };
        int ret = 0;
        if (slot.MemorySize != 0 && !isNew && ((mem.Flags ^ slot.OldFlags) & KvmAbi.MemReadonly) != 0)
        {
            // KVM cannot change a live slot's read-only flag: remove it, then add it back.
            mem.MemorySize = 0;
            ret = Vm.SetUserMemoryRegion(mem);
        }
        if (ret >= 0)
        {
            mem.MemorySize = slot.MemorySize;
            ret = Vm.SetUserMemoryRegion(mem);
            slot.OldFlags = mem.Flags;
        }
        _accel.Traced(new KvmSlotEvent(mem.Slot, mem.Flags, mem.GuestPhysAddr, mem.MemorySize, mem.UserspaceAddr, ret));
        return ret;
    }

    private bool GetDirtyLog(KvmSlot slot)
    {
        int ret = Vm.GetDirtyLog(slot.KernelSlot, slot.DirtyBitmap!);
        return ret == 0 || ret == -2; // ENOENT: the kernel has no bitmap for this slot yet
    }

    /// <summary>
    /// QEMU's <c>kvm_slot_sync_dirty_pages</c>: ORs the slot's log into the RAMBlock bitmaps, for the VGA
    /// client and, during global dirty tracking, the migration client.
    /// </summary>
    private void SyncDirtyPages(KvmSlot slot)
    {
        MemorySystem system = _accel.System;
        DirtyMemory dirty = system.RamList.Dirty;
        byte clients = (byte)((1 << (int)DirtyMemoryClient.Vga)
                              | (system.GlobalDirtyTracking != GlobalDirtyFlags.None ? 1 << (int)DirtyMemoryClient.Migration : 0));
        ulong page = HostMemory.HostPageSize;
        ulong[] bits = slot.DirtyBitmap!;
        for (int w = 0; w < bits.Length; w++)
        {
            ulong word = bits[w];
            while (word != 0)
            {
                int b = System.Numerics.BitOperations.TrailingZeroCount(word);
                word &= word - 1;
                ulong p = ((ulong)w * 64) + (ulong)b;
                dirty.SetDirty(slot.RamStartOffset + (p * page), page, clients);
            }
        }
    }
}
