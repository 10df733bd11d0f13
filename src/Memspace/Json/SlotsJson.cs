using Memspace.Kvm;

namespace Memspace.Json;

/// <summary>
/// KVM's memory slots as data: every <c>KVM_SET_USER_MEMORY_REGION</c> in order (<c>Ioctls</c>) and the
/// final slot table of every KVM address space (<c>Slots</c>). <c>Simulated</c> is true when no kernel
/// was involved.
/// </summary>
internal sealed record SlotsDocument(bool Simulated, string? Reason, IReadOnlyList<SlotIoctlJson> Ioctls, IReadOnlyList<SlotJson> Slots) : JsonDocumentBase("slots")
{
    public static SlotsDocument Build(KvmAccelerator kvm, string? reason)
        => new(kvm.RealVm is null, reason, kvm.Trace.Select(Ioctl).ToList(), Table(kvm));

    internal static SlotIoctlJson Ioctl(KvmSlotEvent e)
        => new((long)e.Slot, (long)e.Flags, JsonHex.Of(e.Gpa), JsonHex.Of(e.Size), JsonHex.Of(e.Ua), e.Ret);

    internal static List<SlotJson> Table(KvmAccelerator kvm)
    {
        var slots = new List<SlotJson>();
        foreach ((KvmMemoryListener listener, AddressSpace space) in kvm.SlotListeners)
        {
            foreach (KvmSlot slot in listener.Slots.OrderBy(s => s.StartAddr))
            {
                var range = space.CurrentMap.Lookup(slot.StartAddr);
                slots.Add(new SlotJson(
                    (long)slot.KernelSlot, slot.AsId, space.Name, JsonHex.Of(slot.StartAddr), JsonHex.Of((UInt128)slot.StartAddr + slot.MemorySize),
                    JsonHex.Of(slot.MemorySize), (long)slot.Flags, slot.ReadOnly, slot.LogsDirtyPages, JsonHex.Of(slot.Ram),
                    range?.Region.Name, range is { } r ? JsonHex.Of(r.OffsetInRegion + (slot.StartAddr - r.Start)) : null));
            }
        }
        return slots;
    }
}

/// <summary>One <c>struct kvm_userspace_memory_region</c> as set, with the kernel's return value.</summary>
internal sealed record SlotIoctlJson(long Slot, long Flags, string GuestPhysAddr, string MemorySize, string UserspaceAddr, int Ret);

/// <summary>One <c>KVMSlot</c>: kernel slot id (address-space id in bits 16 and up), range, flags, host address, and the region it shows.</summary>
internal sealed record SlotJson(
    long Slot, int AsId, string AddressSpace, string Start, string End, string Size, long Flags, bool ReadOnly, bool LogDirty,
    string UserspaceAddr, string? Region, string? OffsetInRegion);
