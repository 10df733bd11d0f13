using Memspace.Rendering;

namespace Memspace.Listeners;

/// <summary>
/// Reports the difference between an address space's old and new view to its listeners
/// (QEMU's <c>address_space_update_topology_pass</c>, run twice).
/// </summary>
/// <remarks>
/// Both views are walked in address order. The first pass reports ranges that are only in the old
/// view (or changed at the same start) with <c>coalesced_io_del</c> and <c>region_del</c>; the second
/// reports unchanged ranges with <c>region_nop</c> (plus <c>log_start</c>/<c>log_stop</c> when only
/// the dirty-log mask changed) and new ranges with <c>region_add</c> and <c>coalesced_io_add</c>.
/// So all deletions precede all additions, range-major and listener-minor.
/// </remarks>
internal static class TopologyDiff
{
    public static void Report(AddressSpace space, FlatView oldView, FlatView newView)
    {
        Pass(space, oldView, newView, adding: false);
        Pass(space, oldView, newView, adding: true);
    }

    private static void Pass(AddressSpace space, FlatView oldView, FlatView newView, bool adding)
    {
        ReadOnlySpan<FlatRange> olds = oldView.RangeSpan;
        ReadOnlySpan<FlatRange> news = newView.RangeSpan;
        List<MemoryListener> listeners = space.ListenerList;
        int io = 0, inew = 0;
        while (io < olds.Length || inew < news.Length)
        {
            bool haveOld = io < olds.Length;
            bool haveNew = inew < news.Length;
            if (haveOld && (!haveNew || olds[io].Start < news[inew].Start
                            || (olds[io].Start == news[inew].Start && !olds[io].SameMapping(news[inew]))))
            {
                if (!adding)
                {
                    FlatRange fr = olds[io];
                    CoalescedNotify.AllOf(space, oldView, fr, add: false);
                    var section = MemoryRegionSection.FromFlatRange(fr, oldView);
                    for (int i = listeners.Count - 1; i >= 0; i--)
                    {
                        listeners[i].RegionDel(section);
                    }
                }
                io++;
            }
            else if (haveOld && haveNew && olds[io].SameMapping(news[inew]))
            {
                if (adding)
                {
                    FlatRange fo = olds[io];
                    FlatRange fn = news[inew];
                    var section = MemoryRegionSection.FromFlatRange(fn, newView);
                    foreach (MemoryListener l in listeners)
                    {
                        l.RegionNop(section);
                    }
                    if ((fn.DirtyLogMask & ~fo.DirtyLogMask) != 0)
                    {
                        foreach (MemoryListener l in listeners)
                        {
                            l.LogStart(section, fo.DirtyLogMask, fn.DirtyLogMask);
                        }
                    }
                    if ((fo.DirtyLogMask & ~fn.DirtyLogMask) != 0)
                    {
                        for (int i = listeners.Count - 1; i >= 0; i--)
                        {
                            listeners[i].LogStop(section, fo.DirtyLogMask, fn.DirtyLogMask);
                        }
                    }
                }
                io++;
                inew++;
            }
            else
            {
                if (adding)
                {
                    FlatRange fr = news[inew];
                    var section = MemoryRegionSection.FromFlatRange(fr, newView);
                    foreach (MemoryListener l in listeners)
                    {
                        l.RegionAdd(section);
                    }
                    CoalescedNotify.AllOf(space, newView, fr, add: true);
                }
                inew++;
            }
        }
    }
}
