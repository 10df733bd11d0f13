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
    /// <summary>Tells <paramref name="listeners"/> (ascending priority) how <paramref name="oldView"/> became <paramref name="newView"/>.</summary>
    public static void Report(IReadOnlyList<MemoryListener> listeners, FlatView oldView, FlatView newView, ListenerFailures failures)
    {
        Pass(listeners, oldView, newView, adding: false, failures);
        Pass(listeners, oldView, newView, adding: true, failures);
    }

    private static void Pass(IReadOnlyList<MemoryListener> listeners, FlatView oldView, FlatView newView, bool adding, ListenerFailures failures)
    {
        ReadOnlySpan<FlatRange> olds = oldView.RangeSpan;
        ReadOnlySpan<FlatRange> news = newView.RangeSpan;
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
                    Deleted(listeners, oldView, olds[io], failures);
                }
                io++;
            }
            else if (haveOld && haveNew && olds[io].SameMapping(news[inew]))
            {
                if (adding)
                {
                    Unchanged(listeners, newView, olds[io], news[inew], failures);
                }
                io++;
                inew++;
            }
            else
            {
                if (adding)
                {
                    Added(listeners, newView, news[inew], failures);
                }
                inew++;
            }
        }
    }

    private static void Deleted(IReadOnlyList<MemoryListener> listeners, FlatView view, in FlatRange fr, ListenerFailures failures)
    {
        CoalescedNotify.AllOf(listeners, view, fr, add: false, failures);
        var section = MemoryRegionSection.FromFlatRange(fr, view);
        for (int i = listeners.Count - 1; i >= 0; i--)
        {
            try
            {
                listeners[i].RegionDel(section);
            }
            catch (Exception e)
            {
                failures.Add(listeners[i], "region_del", e);
            }
        }
    }

    private static void Unchanged(IReadOnlyList<MemoryListener> listeners, FlatView view, in FlatRange fo, in FlatRange fn, ListenerFailures failures)
    {
        var section = MemoryRegionSection.FromFlatRange(fn, view);
        for (int i = 0; i < listeners.Count; i++)
        {
            try
            {
                listeners[i].RegionNop(section);
            }
            catch (Exception e)
            {
                failures.Add(listeners[i], "region_nop", e);
            }
        }
        if ((fn.DirtyLogMask & ~fo.DirtyLogMask) != 0)
        {
            for (int i = 0; i < listeners.Count; i++)
            {
                try
                {
                    listeners[i].LogStart(section, fo.DirtyLogMask, fn.DirtyLogMask);
                }
                catch (Exception e)
                {
                    failures.Add(listeners[i], "log_start", e);
                }
            }
        }
        if ((fo.DirtyLogMask & ~fn.DirtyLogMask) != 0)
        {
            for (int i = listeners.Count - 1; i >= 0; i--)
            {
                try
                {
                    listeners[i].LogStop(section, fo.DirtyLogMask, fn.DirtyLogMask);
                }
                catch (Exception e)
                {
                    failures.Add(listeners[i], "log_stop", e);
                }
            }
        }
    }

    private static void Added(IReadOnlyList<MemoryListener> listeners, FlatView view, in FlatRange fr, ListenerFailures failures)
    {
        var section = MemoryRegionSection.FromFlatRange(fr, view);
        for (int i = 0; i < listeners.Count; i++)
        {
            try
            {
                listeners[i].RegionAdd(section);
            }
            catch (Exception e)
            {
                failures.Add(listeners[i], "region_add", e);
            }
        }
        CoalescedNotify.AllOf(listeners, view, fr, add: true, failures);
    }
}
