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
    private readonly ulong[] _lastOffsets;

    internal FlatView(MemoryRegion? root, FlatRange[] ranges, long generation)
    {
        Root = root;
        _ranges = ranges;
        _starts = new ulong[ranges.Length];
        _lastOffsets = new ulong[ranges.Length];
        for (int i = 0; i < ranges.Length; i++)
        {
            _starts[i] = ranges[i].Start;
            _lastOffsets[i] = (ulong)(ranges[i].Size - 1);
        }
        Generation = generation;
    }

    internal ulong StartOf(int index) => _starts[index];

    /// <summary>Last address of range <paramref name="index"/>.</summary>
    internal ulong LastOf(int index) => _starts[index] + _lastOffsets[index];

    /// <summary>First address at or above <paramref name="address"/> that some range covers, or null.</summary>
    internal ulong? NextStart(ulong address)
    {
        int i = UpperBound(address);
        return i < _starts.Length ? _starts[i] : null;
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
        return i >= 0 && address - _starts[i] <= _lastOffsets[i] ? i : -1;
    }

    /// <summary>The range that contains <paramref name="address"/>, or null.</summary>
    /// <param name="address">A guest address.</param>
    public FlatRange? Lookup(ulong address)
    {
        int i = IndexOf(address);
        return i >= 0 ? _ranges[i] : null;
    }

    /// <summary>
    /// Index of the first range that intersects [<paramref name="address"/>, <paramref name="address"/> +
    /// <paramref name="size"/>), or -1 (the lookup of <c>memory_region_find</c>).
    /// </summary>
    /// <param name="address">First address.</param>
    /// <param name="size">Size of the interval.</param>
    public int FirstIntersecting(ulong address, ulong size)
    {
        UInt128 end = (UInt128)address + size;
        // First range whose end is beyond address.
        int i = UpperBound(address) - 1;
        if (i < 0 || _ranges[i].End <= address)
        {
            i++;
        }
        return i >= _ranges.Length || _ranges[i].Start >= end || size == 0 ? -1 : i;
    }

    /// <summary>Index of the first range whose start is greater than <paramref name="address"/>.</summary>
    /// <remarks>
    /// Branch-free: every step is a conditional move, so a lookup in a view of a thousand ranges costs
    /// ten predictable iterations instead of ten likely mispredicted branches.
    /// </remarks>
    internal int UpperBound(ulong address)
    {
        ulong[] starts = _starts;
        int n = starts.Length;
        if (n == 0)
        {
            return 0;
        }
        ref ulong first = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(starts);
        int lo = 0;
        while (n > 1)
        {
            int half = n >> 1;
            lo = System.Runtime.CompilerServices.Unsafe.Add(ref first, lo + half) <= address ? lo + half : lo;
            n -= half;
        }
        // lo is now the last index with starts[lo] <= address, or 0.
        return starts[lo] <= address ? lo + 1 : lo;
    }

    /// <inheritdoc/>
    public override string ToString() => $"FlatView(root: {Root?.Name ?? "(none)"}, {Count} ranges, gen {Generation})";
}
