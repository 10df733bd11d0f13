using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Listeners;

/// <summary>
/// Computes an address space's ioeventfds from its view and reports changes to its listeners
/// (QEMU's <c>address_space_update_ioeventfds</c> and <c>address_space_add_del_ioeventfds</c>).
/// </summary>
internal static class IoeventfdDiff
{
    /// <summary>
    /// Every ioeventfd of every rendered region, moved to absolute addresses, that intersects the
    /// range showing it, in the order QEMU collects them (range by range).
    /// </summary>
    public static MemoryRegionIoeventfd[] Collect(FlatView view)
    {
        List<MemoryRegionIoeventfd>? result = null;
        foreach (ref readonly FlatRange fr in view.RangeSpan)
        {
            IReadOnlyList<MemoryRegionIoeventfd> fds = fr.Region.Ioeventfds;
            for (int i = 0; i < fds.Count; i++)
            {
                MemoryRegionIoeventfd fd = fds[i];
                AddrRange at = AddrRange.InAddressSpace(fr, fd.Address, fd.Size);
                // QEMU asserts on a negative start (an ioeventfd hanging off the front of the range).
                if (at.Intersects(AddrRange.Of(fr)) && at.Start >= 0)
                {
                    (result ??= []).Add(fd with { Address = (ulong)at.Start });
                }
            }
        }
        return result is null ? [] : [.. result];
    }

    /// <summary>
    /// Reports the symmetric difference of two sorted lists: old-only entries with
    /// <c>eventfd_del</c> (forward), new-only entries with <c>eventfd_add</c> (reverse).
    /// </summary>
    public static void Report(IReadOnlyList<MemoryListener> listeners, FlatView view, MemoryRegionIoeventfd[] olds, MemoryRegionIoeventfd[] news, ListenerFailures failures)
    {
        int io = 0, inew = 0;
        while (io < olds.Length || inew < news.Length)
        {
            if (io < olds.Length && (inew == news.Length || MemoryRegionIoeventfd.Before(olds[io], news[inew])))
            {
                MemoryRegionIoeventfd fd = olds[io];
                var section = Section(view, fd);
                for (int i = 0; i < listeners.Count; i++)
                {
                    try
                    {
                        listeners[i].EventfdDel(section, fd.MatchData, fd.Data, fd.Notifier);
                    }
                    catch (Exception e)
                    {
                        failures.Add(listeners[i], "eventfd_del", e);
                    }
                }
                io++;
            }
            else if (inew < news.Length && (io == olds.Length || MemoryRegionIoeventfd.Before(news[inew], olds[io])))
            {
                MemoryRegionIoeventfd fd = news[inew];
                var section = Section(view, fd);
                for (int i = listeners.Count - 1; i >= 0; i--)
                {
                    try
                    {
                        listeners[i].EventfdAdd(section, fd.MatchData, fd.Data, fd.Notifier);
                    }
                    catch (Exception e)
                    {
                        failures.Add(listeners[i], "eventfd_add", e);
                    }
                }
                inew++;
            }
            else
            {
                io++;
                inew++;
            }
        }
    }

    /// <summary>The section QEMU passes to eventfd callbacks: address, size and view only.</summary>
    public static MemoryRegionSection Section(FlatView view, in MemoryRegionIoeventfd fd)
        => new(null, view, 0, fd.Size, fd.Address, false, false, false);
}
