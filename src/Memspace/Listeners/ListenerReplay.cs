using Memspace.Rendering;

namespace Memspace.Listeners;

/// <summary>
/// What a listener alone is told when it is registered or unregistered
/// (QEMU's <c>listener_add_address_space</c> and <c>listener_del_address_space</c>).
/// </summary>
internal static class ListenerReplay
{
    /// <summary>
    /// <c>begin</c>; <c>log_global_start</c> if global dirty tracking is on; per range
    /// <c>region_add</c>, <c>coalesced_io_add</c> and <c>log_start(0, mask)</c> when logged; then
    /// <c>eventfd_add</c> per ioeventfd; <c>commit</c>. Nothing but begin/commit for an empty view.
    /// </summary>
    public static void Add(MemorySystem system, MemoryListener listener, AddressSpace space)
    {
        bool replayExtras = system.Options.ReplayIoeventfdsAndCoalescing;
        listener.Begin();
        if (system.GlobalDirtyTracking != GlobalDirtyFlags.None)
        {
            listener.LogGlobalStart();
        }
        FlatView view = space.CurrentMap;
        foreach (ref readonly FlatRange fr in view.RangeSpan)
        {
            var section = MemoryRegionSection.FromFlatRange(fr, view);
            listener.RegionAdd(section);
            if (replayExtras)
            {
                foreach (var cmr in fr.Region.CoalescedRanges)
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
        if (replayExtras)
        {
            foreach (var fd in space.IoeventfdArray)
            {
                listener.EventfdAdd(IoeventfdDiff.Section(view, fd), fd.MatchData, fd.Data, fd.Notifier);
            }
        }
        listener.Commit();
    }

    /// <summary>
    /// The mirror of <see cref="Add"/>: <c>begin</c>; per range <c>log_stop(mask, 0)</c> when logged,
    /// <c>coalesced_io_del</c> and <c>region_del</c>; <c>eventfd_del</c> per ioeventfd; <c>commit</c>.
    /// </summary>
    public static void Remove(MemorySystem system, MemoryListener listener, AddressSpace space)
    {
        bool replayExtras = system.Options.ReplayIoeventfdsAndCoalescing;
        listener.Begin();
        FlatView view = space.CurrentMap;
        foreach (ref readonly FlatRange fr in view.RangeSpan)
        {
            var section = MemoryRegionSection.FromFlatRange(fr, view);
            if (fr.DirtyLogMask != 0)
            {
                listener.LogStop(section, fr.DirtyLogMask, 0);
            }
            if (replayExtras)
            {
                foreach (var cmr in fr.Region.CoalescedRanges)
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
        if (replayExtras)
        {
            foreach (var fd in space.IoeventfdArray)
            {
                listener.EventfdDel(IoeventfdDiff.Section(view, fd), fd.MatchData, fd.Data, fd.Notifier);
            }
        }
        listener.Commit();
    }
}
