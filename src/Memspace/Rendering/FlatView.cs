using Memspace.Listeners;
using Memspace.Regions;

namespace Memspace.Rendering;

/// <summary>
/// The rendered form of a region graph (QEMU's <c>FlatView</c>): sorted, disjoint
/// <see cref="FlatRange"/>s. Immutable; a commit publishes new views, and every address space whose
/// root resolves to the same physical root shares one view object.
/// </summary>
public sealed class FlatView
{
    private readonly FlatRange[] _ranges;
    private readonly ulong[] _starts;

    internal FlatView(MemoryRegion? root, FlatRange[] ranges, long generation)
    {
        Root = root;
        _ranges = ranges;
        _starts = new ulong[ranges.Length];
        for (int i = 0; i < ranges.Length; i++)
        {
            _starts[i] = ranges[i].Start;
        }
        Generation = generation;
    }

    /// <summary>The physical root the view was rendered from, or null for the shared empty view.</summary>
    public MemoryRegion? Root { get; }

    /// <summary>The ranges, sorted by address.</summary>
    public IReadOnlyList<FlatRange> Ranges => _ranges;

    /// <summary>The ranges as a span.</summary>
    public ReadOnlySpan<FlatRange> RangeSpan => _ranges;

    /// <summary>Number of ranges.</summary>
    public int Count => _ranges.Length;

    /// <summary>Sequence number of the commit (or address-space creation) that rendered the view.</summary>
    public long Generation { get; }

    /// <summary>Index of the range that contains <paramref name="address"/>, or -1.</summary>
    /// <param name="address">A guest address.</param>
    public int IndexOf(ulong address)
    {
        int i = UpperBound(address) - 1;
        return i >= 0 && _ranges[i].Contains(address) ? i : -1;
    }

    /// <summary>The range that contains <paramref name="address"/>, or null.</summary>
    /// <param name="address">A guest address.</param>
    public FlatRange? Lookup(ulong address)
    {
        int i = IndexOf(address);
        return i >= 0 ? _ranges[i] : null;
    }

    /// <summary>
    /// The section of the first range that intersects [<paramref name="address"/>,
    /// <paramref name="address"/> + <paramref name="size"/>), clipped to that interval
    /// (the lookup of <c>memory_region_find</c>); a default section when nothing intersects.
    /// </summary>
    /// <param name="address">First address.</param>
    /// <param name="size">Size of the interval.</param>
    public MemoryRegionSection Find(ulong address, ulong size)
    {
        UInt128 end = (UInt128)address + size;
        // First range whose end is beyond address.
        int i = UpperBound(address) - 1;
        if (i < 0 || _ranges[i].End <= address)
        {
            i++;
        }
        if (i >= _ranges.Length || _ranges[i].Start >= end || size == 0)
        {
            return default;
        }
        FlatRange fr = _ranges[i];
        UInt128 start = UInt128.Max(address, fr.Start);
        UInt128 stop = UInt128.Min(end, fr.End);
        return new MemoryRegionSection(
            fr.Region, this, fr.OffsetInRegion + (ulong)(start - fr.Start), stop - start, (ulong)start,
            fr.ReadOnly, fr.NonVolatile, fr.Unmergeable);
    }

    /// <summary>Index of the first range whose start is greater than <paramref name="address"/>.</summary>
    private int UpperBound(ulong address)
    {
        int lo = 0, hi = _starts.Length;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (_starts[mid] <= address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    /// <inheritdoc/>
    public override string ToString() => $"FlatView(root: {Root?.Name ?? "(none)"}, {Count} ranges, gen {Generation})";
}
