using Memspace.Core;

namespace Memspace.Regions;

/// <summary>
/// An ioeventfd: a write of <see cref="Size"/> bytes (any size when 0) at <see cref="Address"/>,
/// optionally only with value <see cref="Data"/>, signals <see cref="Notifier"/> instead of calling
/// the device (QEMU's <c>MemoryRegionIoeventfd</c>).
/// </summary>
/// <param name="Address">Offset in the region, or the absolute address in an address space's list.</param>
/// <param name="Size">Access width in bytes; 0 matches every width.</param>
/// <param name="MatchData">Whether only writes of <paramref name="Data"/> match.</param>
/// <param name="Data">The value to match, in device byte order.</param>
/// <param name="Notifier">What is signalled.</param>
public readonly record struct MemoryRegionIoeventfd(ulong Address, uint Size, bool MatchData, ulong Data, EventNotifier Notifier)
{
    /// <summary>QEMU's sort order (<c>memory_region_ioeventfd_before</c>).</summary>
    internal static bool Before(in MemoryRegionIoeventfd a, in MemoryRegionIoeventfd b)
    {
        if (a.Address != b.Address)
        {
            return a.Address < b.Address;
        }
        if (a.Size != b.Size)
        {
            return a.Size < b.Size;
        }
        if (a.MatchData != b.MatchData)
        {
            return !a.MatchData;
        }
        if (a.MatchData && a.Data != b.Data)
        {
            return a.Data < b.Data;
        }
        return a.Notifier.Id < b.Notifier.Id;
    }

    /// <summary>QEMU's matching rule (<c>memory_region_ioeventfd_equal</c>): size 0 matches any size at the same address.</summary>
    internal static bool Matches(in MemoryRegionIoeventfd a, in MemoryRegionIoeventfd b)
        => a.Address == b.Address
           && (a.Size == 0 || b.Size == 0
               || (a.Size == b.Size && a.MatchData == b.MatchData
                   && (!a.MatchData || a.Data == b.Data)
                   && ReferenceEquals(a.Notifier, b.Notifier)));
}
