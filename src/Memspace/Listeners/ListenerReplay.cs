using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Listeners;

/// <summary>
/// What a listener alone is told when it is registered or unregistered
/// (QEMU's <c>listener_add_address_space</c> and <c>listener_del_address_space</c>).
/// </summary>
internal static class ListenerReplay
{
    /// <summary>
    /// <c>begin</c>; <c>log_global_start</c> if <paramref name="globalDirtyTracking"/>; per range
    /// <c>region_add</c>, <c>coalesced_io_add</c> and <c>log_start(0, mask)</c> when logged; then
    /// <c>eventfd_add</c> per ioeventfd; <c>commit</c>. Nothing but begin/commit for an empty view.
    /// With <paramref name="replayExtras"/> false, coalesced ranges and ioeventfds are left out, as in QEMU 7.2.
    /// </summary>
    public static void Add(MemoryListener listener, FlatView view, IReadOnlyList<MemoryRegionIoeventfd> ioeventfds,
        bool globalDirtyTracking, bool replayExtras, ListenerFailures failures)
    {
        Call(listener, "begin", failures, static l => l.Begin());
        if (globalDirtyTracking)
        {
            Call(listener, "log_global_start", failures, static l => l.LogGlobalStart());
        }
        foreach (ref readonly FlatRange fr in view.RangeSpan)
        {
            var section = MemoryRegionSection.FromFlatRange(fr, view);
            try
            {
                listener.RegionAdd(section);
                if (replayExtras)
                {
                    foreach (CoalescedRange cmr in fr.Region.CoalescedRanges)
                    {
                        if (!CoalescedNotify.Intersect(fr, cmr, out ulong start, out ulong size))
                        {
                            // QEMU stops at the first coalesced range the flat range does not show.
                            break;
                        }
                        listener.CoalescedIoAdd(section, start, size);
                    }
                }
                if (fr.DirtyLogMask != 0)
                {
                    listener.LogStart(section, 0, fr.DirtyLogMask);
                }
            }
            catch (Exception e)
            {
                failures.Add(listener, "region_add", e);
            }
        }
        if (replayExtras)
        {
            foreach (MemoryRegionIoeventfd fd in ioeventfds)
            {
                try
                {
                    listener.EventfdAdd(IoeventfdDiff.Section(view, fd), fd.MatchData, fd.Data, fd.Notifier);
                }
                catch (Exception e)
                {
                    failures.Add(listener, "eventfd_add", e);
                }
            }
        }
        Call(listener, "commit", failures, static l => l.Commit());
    }

    /// <summary>
    /// The mirror of <see cref="Add"/>: <c>begin</c>; per range <c>log_stop(mask, 0)</c> when logged,
    /// <c>coalesced_io_del</c> and <c>region_del</c>; <c>eventfd_del</c> per ioeventfd; <c>commit</c>.
    /// </summary>
    public static void Remove(MemoryListener listener, FlatView view, IReadOnlyList<MemoryRegionIoeventfd> ioeventfds,
        bool replayExtras, ListenerFailures failures)
    {
        Call(listener, "begin", failures, static l => l.Begin());
        foreach (ref readonly FlatRange fr in view.RangeSpan)
        {
            var section = MemoryRegionSection.FromFlatRange(fr, view);
            try
            {
                if (fr.DirtyLogMask != 0)
                {
                    listener.LogStop(section, fr.DirtyLogMask, 0);
                }
                if (replayExtras)
                {
                    foreach (CoalescedRange cmr in fr.Region.CoalescedRanges)
                    {
                        if (!CoalescedNotify.Intersect(fr, cmr, out ulong start, out ulong size))
                        {
                            break;
                        }
                        listener.CoalescedIoDel(section, start, size);
                    }
                }
                listener.RegionDel(section);
            }
            catch (Exception e)
            {
                failures.Add(listener, "region_del", e);
            }
        }
        if (replayExtras)
        {
            foreach (MemoryRegionIoeventfd fd in ioeventfds)
            {
                try
                {
                    listener.EventfdDel(IoeventfdDiff.Section(view, fd), fd.MatchData, fd.Data, fd.Notifier);
                }
                catch (Exception e)
                {
                    failures.Add(listener, "eventfd_del", e);
                }
            }
        }
        Call(listener, "commit", failures, static l => l.Commit());
    }

    /// <summary>Calls one callback of <paramref name="listener"/>, recording what it throws.</summary>
    public static void Call(MemoryListener listener, string callback, ListenerFailures failures, Action<MemoryListener> call)
    {
        try
        {
            call(listener);
        }
        catch (Exception e)
        {
            failures.Add(listener, callback, e);
        }
    }
}
