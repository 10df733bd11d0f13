using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Listeners;

/// <summary>
/// Tells listeners about the coalesced MMIO ranges of a flat range (QEMU's
/// <c>flat_range_coalesced_io_notify</c> and its callers).
/// </summary>
internal static class CoalescedNotify
{
    /// <summary>Reports every coalesced range of the range's region that intersects it.</summary>
    public static void AllOf(IReadOnlyList<MemoryListener> listeners, FlatView view, in FlatRange fr, bool add, ListenerFailures failures)
    {
        IReadOnlyList<CoalescedRange> ranges = fr.Region.CoalescedRanges;
        for (int i = 0; i < ranges.Count; i++)
        {
            Range(listeners, view, fr, ranges[i], add, failures);
        }
    }

    /// <summary>
    /// Reports the part of <paramref name="cmr"/> (an offset range of the region) that the flat range
    /// shows, if any: <c>coalesced_io_add</c> forward or <c>coalesced_io_del</c> in reverse.
    /// </summary>
    public static void Range(IReadOnlyList<MemoryListener> listeners, FlatView view, in FlatRange fr, CoalescedRange cmr, bool add, ListenerFailures failures)
    {
        if (!Intersect(fr, cmr, out ulong start, out ulong size))
        {
            return;
        }
        var section = MemoryRegionSection.FromFlatRange(fr, view);
        if (add)
        {
            for (int i = 0; i < listeners.Count; i++)
            {
                try
                {
                    listeners[i].CoalescedIoAdd(section, start, size);
                }
                catch (Exception e)
                {
                    failures.Add(listeners[i], "coalesced_io_add", e);
                }
            }
        }
        else
        {
            for (int i = listeners.Count - 1; i >= 0; i--)
            {
                try
                {
                    listeners[i].CoalescedIoDel(section, start, size);
                }
                catch (Exception e)
                {
                    failures.Add(listeners[i], "coalesced_io_del", e);
                }
            }
        }
    }

    /// <summary>The absolute part of <paramref name="cmr"/> that <paramref name="fr"/> shows, if any.</summary>
    public static bool Intersect(in FlatRange fr, CoalescedRange cmr, out ulong start, out ulong size)
    {
        AddrRange shown = AddrRange.Of(fr);
        AddrRange tmp = AddrRange.InAddressSpace(fr, cmr.Offset, cmr.Size);
        if (!tmp.Intersects(shown))
        {
            start = size = 0;
            return false;
        }
        AddrRange part = tmp.Intersection(shown);
        start = (ulong)part.Start;
        size = (ulong)part.Size;
        return true;
    }
}
