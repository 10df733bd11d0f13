using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Listeners;

/// <summary>
/// Asks listeners to bring dirty bits into the RAMBlock bitmaps and tells them which bits were
/// consumed (QEMU's <c>memory_region_sync_dirty_bitmap</c> and <c>memory_region_clear_dirty_bitmap</c>).
/// </summary>
internal static class DirtyLogSync
{
    /// <summary>
    /// For every listener (each with the view of its address space), <c>log_sync</c> on every logged
    /// range that shows <paramref name="region"/> (every logged range when it is null).
    /// </summary>
    public static void Sync(IReadOnlyList<(MemoryListener Listener, FlatView View)> listeners, MemoryRegion? region, ListenerFailures failures)
    {
        foreach ((MemoryListener listener, FlatView view) in listeners)
        {
            foreach (ref readonly FlatRange fr in view.RangeSpan)
            {
                if (fr.DirtyLogMask != 0 && (region is null || fr.Region == region))
                {
                    try
                    {
                        listener.LogSync(MemoryRegionSection.FromFlatRange(fr, view));
                    }
                    catch (Exception e)
                    {
                        failures.Add(listener, "log_sync", e);
                    }
                }
            }
        }
    }

    /// <summary>
    /// For every listener, <c>log_clear</c> on the part of each logged range of <paramref name="region"/>
    /// that overlaps [<paramref name="start"/>, + <paramref name="length"/>) of the region.
    /// </summary>
    public static void Clear(IReadOnlyList<(MemoryListener Listener, FlatView View)> listeners, MemoryRegion region, ulong start, ulong length, ListenerFailures failures)
    {
        foreach ((MemoryListener listener, FlatView view) in listeners)
        {
            foreach (ref readonly FlatRange fr in view.RangeSpan)
            {
                if (fr.DirtyLogMask == 0 || fr.Region != region)
                {
                    continue;
                }
                UInt128 secStart = UInt128.Max(fr.OffsetInRegion, start);
                UInt128 secEnd = UInt128.Min(fr.OffsetInRegion + fr.Size, (UInt128)start + length);
                if (secStart >= secEnd)
                {
                    continue;
                }
                var section = MemoryRegionSection.FromFlatRange(fr, view) with
                {
                    OffsetWithinAddressSpace = fr.Start + (ulong)(secStart - fr.OffsetInRegion),
                    OffsetWithinRegion = (ulong)secStart,
                    Size = secEnd - secStart,
                };
                try
                {
                    listener.LogClear(section);
                }
                catch (Exception e)
                {
                    failures.Add(listener, "log_clear", e);
                }
            }
        }
    }
}
