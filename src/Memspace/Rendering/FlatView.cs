using System.Collections;
using Memspace.Regions;

namespace Memspace.Rendering;

/// <summary>
/// The rendered form of a region graph (QEMU's <c>FlatView</c>): sorted, disjoint
/// <see cref="FlatRange"/>s. Immutable; a commit publishes new views, and every address space whose
/// root resolves to the same physical root shares one view object. A view made by an incremental
/// commit shares its storage with the view before it, except where the commit changed something.
/// </summary>
public sealed class FlatView
{
    private LocalRange[]? _array;
    private FlatRange[]? _ranges;

    internal FlatView(MemoryRegion? root, RangeTree tree, long generation)
    {
        Root = root;
        Tree = tree;
        Generation = generation;
        Ranges = new RangeList(this);
    }

    /// <summary>The view's ioeventfds at absolute addresses (QEMU collects them per address space; views are shared, so are they), once collected.</summary>
    internal MemoryRegionIoeventfd[]? Ioeventfds { get; set; }

    /// <summary>The ranges in their B+-tree.</summary>
    internal RangeTree Tree { get; }

    /// <summary>The physical root the view was rendered from, or null for the shared empty view.</summary>
    public MemoryRegion? Root { get; }

    /// <summary>The ranges, sorted by address.</summary>
    public IReadOnlyList<FlatRange> Ranges { get; }

    /// <summary>
    /// The ranges as a span. The first use copies them out of the view's tree (O(n), once per view);
    /// hot paths use <see cref="Lookup"/>, <see cref="IndexOf"/> and <see cref="Ranges"/> instead.
    /// </summary>
    public ReadOnlySpan<FlatRange> RangeSpan => _ranges ??= Materialize();

    /// <summary>Number of ranges.</summary>
    public int Count => Tree.Count;

    /// <summary>Sequence number of the commit (or address-space creation) that rendered the view.</summary>
    public long Generation { get; }

    /// <summary>The ranges with their walk identities, in order (materialized once).</summary>
    internal ReadOnlySpan<LocalRange> LocalRanges => _array ??= Tree.ToArray();

    /// <summary>Range <paramref name="index"/>.</summary>
    internal ref readonly FlatRange At(int index) => ref Tree[index].Range;

    /// <summary>Last address of range <paramref name="index"/>.</summary>
    internal ulong LastOf(int index) => Tree[index].Range.Last;

    /// <summary>First address at or above <paramref name="address"/> that some range covers, or null.</summary>
    internal ulong? NextStart(ulong address)
    {
        int i = Tree.LastStartingAtOrBelow(address) + 1;
        return i < Tree.Count ? Tree[i].Range.Start : null;
    }

    /// <summary>Index of the range that contains <paramref name="address"/>, or -1.</summary>
    /// <param name="address">A guest address.</param>
    public int IndexOf(ulong address) => Tree.IndexOf(address);

    /// <summary>The range that contains <paramref name="address"/>, or null.</summary>
    /// <param name="address">A guest address.</param>
    public FlatRange? Lookup(ulong address)
    {
        int i = IndexOf(address);
        return i >= 0 ? Tree[i].Range : null;
    }

    /// <summary>
    /// Index of the first range that intersects [<paramref name="address"/>, <paramref name="address"/> +
    /// <paramref name="size"/>), or -1 (the lookup of <c>memory_region_find</c>).
    /// </summary>
    /// <param name="address">First address.</param>
    /// <param name="size">Size of the interval.</param>
    public int FirstIntersecting(ulong address, ulong size)
    {
        if (size == 0)
        {
            return -1;
        }
        int i = Tree.FirstEndingAbove(address);
        return i < Tree.Count && Tree[i].Range.Start < (UInt128)address + size ? i : -1;
    }

    private FlatRange[] Materialize()
    {
        ReadOnlySpan<LocalRange> local = LocalRanges;
        var result = new FlatRange[local.Length];
        for (int i = 0; i < local.Length; i++)
        {
            result[i] = local[i].Range;
        }
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"FlatView(root: {Root?.Name ?? "(none)"}, {Count} ranges, gen {Generation})";

    /// <summary>The ranges as a list, read from the tree (no copy).</summary>
    private sealed class RangeList(FlatView view) : IReadOnlyList<FlatRange>
    {
        public FlatRange this[int index] => view.Tree[index].Range;

        public int Count => view.Tree.Count;

        public IEnumerator<FlatRange> GetEnumerator()
        {
            foreach (LocalRange r in view.Tree.Enumerate())
            {
                yield return r.Range;
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
