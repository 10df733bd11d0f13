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
        Pass(listeners, oldView, oldView.RangeSpan, newView, newView.RangeSpan, adding: false, failures);
        Pass(listeners, oldView, oldView.RangeSpan, newView, newView.RangeSpan, adding: true, failures);
    }

    /// <summary>
    /// The same report when <paramref name="newView"/> differs from <paramref name="oldView"/> only inside
    /// <paramref name="spans"/> (sorted, disjoint, their ends range boundaries in both views): the ranges
    /// outside are the same in both, and listeners that do not take <c>region_nop</c> would hear nothing
    /// about them, so they are not visited. The callbacks, and their order, are those of <see cref="Report"/>.
    /// </summary>
    public static void ReportSpans(IReadOnlyList<MemoryListener> listeners, FlatView oldView, FlatView newView,
        IReadOnlyList<(UInt128 Start, UInt128 End)> spans, ListenerFailures failures)
    {
        var olds = new FlatRange[spans.Count][];
        var news = new FlatRange[spans.Count][];
        for (int i = 0; i < spans.Count; i++)
        {
            olds[i] = Within(oldView, spans[i].Start, spans[i].End);
            news[i] = Within(newView, spans[i].Start, spans[i].End);
        }
        for (int i = 0; i < spans.Count; i++)
        {
            Pass(listeners, oldView, olds[i], newView, news[i], adding: false, failures);
        }
        for (int i = 0; i < spans.Count; i++)
        {
            Pass(listeners, oldView, olds[i], newView, news[i], adding: true, failures);
        }
    }

    /// <summary>The ranges of <paramref name="view"/> that start in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    private static FlatRange[] Within(FlatView view, UInt128 start, UInt128 end)
    {
        var result = new List<FlatRange>();
        int i = start > ulong.MaxValue ? view.Count : view.Tree.FirstEndingAbove((ulong)start);
        foreach (LocalRange r in view.Tree.Enumerate(i))
        {
            if (r.Range.Start >= end)
            {
                break;
            }
            result.Add(r.Range);
        }
        return [.. result];
    }

    private static void Pass(IReadOnlyList<MemoryListener> listeners, FlatView oldView, ReadOnlySpan<FlatRange> olds,
        FlatView newView, ReadOnlySpan<FlatRange> news, bool adding, ListenerFailures failures)
    {
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
