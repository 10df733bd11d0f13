using Memspace.Kvm;

namespace Memspace.Printing;

/// <summary>
/// Prints the KVM slot table of an accelerator: every slot of both KVM address spaces (normal and SMM)
/// with its guest range, size, flags, host address and the region it shows.
/// </summary>
public static class KvmSlotTablePrinter
{
    /// <summary>Prints the final slot table of every KVM address space of <paramref name="kvm"/>, ordered by guest address.</summary>
    /// <param name="kvm">The accelerator.</param>
    /// <param name="output">Where to print.</param>
    public static void Print(KvmAccelerator kvm, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(kvm);
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine("  slot  as  guest physical range                       size         flags         userspace_addr      memory region");
        foreach ((KvmMemoryListener listener, AddressSpace space) in kvm.SlotListeners)
        {
            foreach (KvmSlot slot in listener.Slots.OrderBy(s => s.StartAddr))
            {
                string region = space.CurrentMap.Lookup(slot.StartAddr) is { } r ? $"'{r.Region.Name}' +0x{r.OffsetInRegion + (slot.StartAddr - r.Start):x}" : "?";
                string flags = slot.ReadOnly ? "READONLY" : slot.LogsDirtyPages ? "LOG_DIRTY" : "-";
                output.WriteLine($"{slot.KernelSlot,6}  {slot.AsId,2}  [0x{slot.StartAddr:x12}, 0x{slot.StartAddr + slot.MemorySize:x12})  0x{slot.MemorySize,-10:x}  {flags,-12}  0x{slot.Ram:x16}  {region}");
            }
        }
    }
}
