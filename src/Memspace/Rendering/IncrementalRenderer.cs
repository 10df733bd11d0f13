using Memspace.Regions;
using Memspace.Util;

namespace Memspace.Rendering;

/// <summary>
/// Renders by parts and keeps the parts: every container and alias that a view is rendered through has
/// its own rendering (in its own coordinates, QEMU's first-wins rule applied to its subtree) cached as a
/// <see cref="RangeTree"/>. A commit recomputes only the intervals the recorded changes can affect, from
/// each changed region up through its containers and the aliases that show it, splicing the new ranges
/// into the cached trees; everything else, including most of each view's tree, is shared with the
/// previous commit.
/// </summary>
/// <remarks>
/// <para>
/// The result equals <see cref="FlatViewRenderer.Render"/>'s, merged ranges included: a region's
/// rendering is the first-wins overlay of its children's renderings (in QEMU's subregion order) and its
/// own fill, which is exactly what the walk computes for that subtree, and merging commutes with the
/// overlay because cutting a range never makes two pieces adjacent. Each range carries a hash of the
/// path that produced it, so that two touching stretches of one walk (one gap in QEMU's terms) stay one
/// range even when unmergeable.
/// </para>
/// <para>
/// Graphs with an alias cycle (an alias that leads back into its own container) are left to the full
/// renderer: a region's rendering would depend on itself.
/// </para>
/// </remarks>
internal sealed class IncrementalRenderer
{
    /// <summary>Recomputing more intervals than this in one region redoes the whole region instead.</summary>
    private const int MaxIntervals = 64;

    private readonly Func<MemoryRegion, byte> _dirtyLogMask;
    private long _epoch = 1;

    /// <param name="dirtyLogMask">The effective dirty-log mask of a terminal region.</param>
    public IncrementalRenderer(Func<MemoryRegion, byte> dirtyLogMask) => _dirtyLogMask = dirtyLogMask;

    /// <summary>Forgets every cached rendering (for example after the dirty-log masks of all RAM changed).</summary>
    public void InvalidateAll() => _epoch++;

    /// <summary>The cached rendering of <paramref name="region"/>, or null when there is none (not built yet, or simple).</summary>
    public RangeTree? CachedRendering(MemoryRegion region) => Cached(region);

    /// <summary>The rendering of <paramref name="region"/> in its own coordinates, built (and cached) if needed.</summary>
    public RangeTree Rendering(MemoryRegion region)
    {
        if (IsSimple(region))
        {
            return OwnFill(region, 0, region.Size, false, false, false) is { } fill ? RangeTree.Build([fill]) : RangeTree.Empty;
        }
        EnsureBuilt(region);
        return Cached(region)!;
    }

    /// <summary>
    /// Brings every cached rendering up to date with <paramref name="changes"/> and returns, for each of
    /// <paramref name="roots"/> whose cached rendering changed, the address intervals (in its own
    /// coordinates) where its old and new renderings differ. Each interval's ends are range boundaries in
    /// both; outside them the two renderings hold the same ranges.
    /// </summary>
    public Dictionary<MemoryRegion, List<(UInt128 Start, UInt128 End)>> Update(List<RegionChange> changes, IReadOnlyCollection<MemoryRegion> roots)
    {
        Dictionary<MemoryRegion, List<(UInt128 Start, UInt128 End)>> dirty = Propagate(changes);
        var spans = new Dictionary<MemoryRegion, List<(UInt128, UInt128)>>(ReferenceEqualityComparer.Instance);
        var rootSet = new HashSet<MemoryRegion>(roots, ReferenceEqualityComparer.Instance);
        foreach (MemoryRegion region in ChildrenFirst(dirty))
        {
            if (!dirty.TryGetValue(region, out List<(UInt128 Start, UInt128 End)>? intervals) || Cached(region) is not { } tree)
            {
                continue; // unchanged, or built from scratch whenever something asks for it
            }
            List<(UInt128, UInt128)>? regionSpans = rootSet.Contains(region) ? [] : null;
            SetCached(region, Recompute(region, tree, Normalize(intervals), regionSpans));
            if (regionSpans is { Count: > 0 })
            {
                spans[region] = regionSpans;
            }
        }
        return spans;
    }

    // ------------------------------------------------------------------------------------------
    // Which regions need recomputing where
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// The intervals of each region whose rendering may differ: each change's own region (for content
    /// changes), and every container and alias above it that has a rendering kept, mapped into their
    /// coordinates. A container or alias without one is built from scratch when something asks for it,
    /// and nothing kept is built through it (a kept rendering is made from its children's kept
    /// renderings), so the walk stops there: 4,000 bus-master aliases of system memory whose address
    /// spaces share the system view cost nothing when system memory changes.
    /// </summary>
    private Dictionary<MemoryRegion, List<(UInt128, UInt128)>> Propagate(List<RegionChange> changes)
    {
        var dirty = new Dictionary<MemoryRegion, List<(UInt128, UInt128)>>(ReferenceEqualityComparer.Instance);
        var work = new Stack<(MemoryRegion Region, UInt128 Start, UInt128 End)>();
        foreach (RegionChange c in changes)
        {
            if (c.Content)
            {
                Add(dirty, c.Region, c.Start, c.End);
            }
            work.Push((c.Region, c.Start, c.End));
            while (work.Count > 0)
            {
                (MemoryRegion r, UInt128 start, UInt128 end) = work.Pop();
                if (r.Container is { } parent)
                {
                    UInt128 s = start + r.Address;
                    UInt128 e = UInt128.Min(end + r.Address, parent.Size);
                    if (s < e && Cached(parent) is not null && Add(dirty, parent, s, e))
                    {
                        work.Push((parent, s, e));
                    }
                }
                foreach (MemoryRegion alias in r.AliasReferrers)
                {
                    // The alias shows [offset, offset + size) of r at its own [0, size).
                    UInt128 s = UInt128.Max(start, alias.AliasOffset);
                    UInt128 e = UInt128.Min(end, (UInt128)alias.AliasOffset + alias.Size);
                    if (s < e && Cached(alias) is not null && Add(dirty, alias, s - alias.AliasOffset, e - alias.AliasOffset))
                    {
                        work.Push((alias, s - alias.AliasOffset, e - alias.AliasOffset));
                    }
                }
            }
        }
        return dirty;
    }

    /// <summary>Adds an interval; false when it was already there (so its propagation is already under way).</summary>
    private static bool Add(Dictionary<MemoryRegion, List<(UInt128, UInt128)>> dirty, MemoryRegion region, UInt128 start, UInt128 end)
    {
        if (!dirty.TryGetValue(region, out List<(UInt128, UInt128)>? list))
        {
            dirty[region] = list = [];
        }
        else if (list.Count > 0 && list[^1] == (start, end))
        {
            return false;
        }
        list.Add((start, end));
        return true;
    }

    /// <summary>
    /// The dirty regions in an order where every region comes after those it shows (its children, an
    /// alias's target). Only dirty regions are walked: every region whose rendering depends on a dirty
    /// one is itself dirty (that is how <see cref="Propagate"/> made the set).
    /// </summary>
    private static List<MemoryRegion> ChildrenFirst<T>(Dictionary<MemoryRegion, T> dirty)
    {
        IEnumerable<MemoryRegion> regions = dirty.Keys;
        // Reverse post-order of a walk from each region up to its dirty containers and referring aliases.
        var state = new Dictionary<MemoryRegion, bool>(ReferenceEqualityComparer.Instance);
        var postOrder = new List<MemoryRegion>();
        var stack = new Stack<(MemoryRegion Region, int Next)>();
        foreach (MemoryRegion start in regions)
        {
            if (state.ContainsKey(start))
            {
                continue;
            }
            state[start] = false;
            stack.Push((start, 0));
            while (stack.Count > 0)
            {
                (MemoryRegion r, int next) = stack.Pop();
                MemoryRegion? up = Up(r, ref next, dirty);
                if (up is null)
                {
                    state[r] = true;
                    postOrder.Add(r);
                    continue;
                }
                stack.Push((r, next + 1));
                if (!state.ContainsKey(up))
                {
                    state[up] = false;
                    stack.Push((up, 0));
                }
            }
        }
        postOrder.Reverse();
        return postOrder;
    }

    /// <summary>
    /// The first dirty region at or after position <paramref name="index"/> among those above
    /// <paramref name="r"/> (its container, then its referring aliases), with <paramref name="index"/>
    /// moved past it; null when there is none.
    /// </summary>
    private static MemoryRegion? Up<T>(MemoryRegion r, ref int index, Dictionary<MemoryRegion, T> dirty)
    {
        IReadOnlyList<MemoryRegion> aliases = r.AliasReferrers;
        int offset = r.Container is null ? 0 : 1;
        for (; index < aliases.Count + offset; index++)
        {
            MemoryRegion up = index < offset ? r.Container! : aliases[index - offset];
            if (dirty.ContainsKey(up))
            {
                return up;
            }
        }
        return null;
    }

    /// <summary>Sorts and merges intervals.</summary>
    private static List<(UInt128 Start, UInt128 End)> Normalize(List<(UInt128 Start, UInt128 End)> intervals)
    {
        intervals.Sort((x, y) => x.Start.CompareTo(y.Start));
        var merged = new List<(UInt128, UInt128)>(intervals.Count);
        foreach ((UInt128 s, UInt128 e) in intervals)
        {
            if (merged.Count > 0 && s <= merged[^1].Item2)
            {
                merged[^1] = (merged[^1].Item1, UInt128.Max(merged[^1].Item2, e));
            }
            else
            {
                merged.Add((s, e));
            }
        }
        return merged;
    }

    // ------------------------------------------------------------------------------------------
    // Recomputing and splicing
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// The rendering of <paramref name="region"/> with <paramref name="intervals"/> recomputed; records
    /// the changed spans (in the region's coordinates) in <paramref name="spans"/> when it is given.
    /// </summary>
    private RangeTree Recompute(MemoryRegion region, RangeTree tree, List<(UInt128 Start, UInt128 End)> intervals, List<(UInt128, UInt128)>? spans)
    {
        if (intervals.Count > MaxIntervals)
        {
            RangeTree whole = Build(region);
            spans?.Add((0, UInt128.Max(Last(tree), Last(whole))));
            return whole;
        }
        foreach ((UInt128 start, UInt128 end) in intervals)
        {
            // Not clipped to the region's size: a region that shrank must lose the ranges beyond its end
            // (Compute renders nothing there).
            UInt128 a = start, b = end;
            if (a >= b)
            {
                continue;
            }
            // Widen to whole ranges: a range that crosses a or b is recomputed entire.
            int i = tree.FirstEndingAbove((ulong)a);
            if (i < tree.Count && tree[i].Range.Start < a)
            {
                a = tree[i].Range.Start;
            }
            int j = b > ulong.MaxValue ? tree.Count : tree.FirstEndingAbove((ulong)(b - 1));
            if (j < tree.Count && tree[j].Range.Start < b)
            {
                b = UInt128.Max(b, tree[j].Range.End);
                j++;
            }
            var fresh = new PooledList<LocalRange>(8);
            try
            {
                Compute(region, a, b, ref fresh);
                Span<LocalRange> items = fresh.AsSpan();
                // Merge with the untouched neighbours where the new ends now continue them.
                UInt128 spanStart = i < j ? (UInt128)tree[i].Range.Start : a;
                UInt128 spanEnd = i < j ? tree[j - 1].Range.End : b;
                if (items.Length > 0 && i > 0 && RangeOverlay.Mergeable(tree[i - 1], items[0]))
                {
                    i--;
                    items[0] = RangeOverlay.Merge(tree[i], items[0]);
                    spanStart = tree[i].Range.Start;
                }
                if (items.Length > 0 && j < tree.Count && RangeOverlay.Mergeable(items[^1], tree[j]))
                {
                    items[^1] = RangeOverlay.Merge(items[^1], tree[j]);
                    spanEnd = tree[j].Range.End;
                    j++;
                }
                if (items.Length > 0)
                {
                    spanStart = UInt128.Min(spanStart, items[0].Range.Start);
                    spanEnd = UInt128.Max(spanEnd, items[^1].Range.End);
                }
                if (i == j && items.Length == 0)
                {
                    continue;
                }
                tree = tree.Splice(i, j, items);
                spans?.Add((spanStart, spanEnd));
            }
            finally
            {
                fresh.Dispose();
            }
        }
        return tree;
    }

    private static UInt128 Last(RangeTree tree) => tree.Count == 0 ? 0 : tree[tree.Count - 1].Range.End;

    /// <summary>The whole rendering of <paramref name="region"/> (its children's renderings must be cached or simple).</summary>
    private RangeTree Build(MemoryRegion region)
    {
        var output = new PooledList<LocalRange>(16);
        try
        {
            Compute(region, 0, region.Size, ref output);
            return RangeTree.Build(output.AsSpan());
        }
        finally
        {
            output.Dispose();
        }
    }

    /// <summary>
    /// Appends the rendering of <paramref name="region"/> over [<paramref name="a"/>, <paramref name="b"/>)
    /// (its own coordinates): for an alias, the window of its target's rendering; otherwise the
    /// first-wins overlay of its enabled subregions there, in QEMU's order, then its own fill.
    /// </summary>
    private void Compute(MemoryRegion region, UInt128 a, UInt128 b, ref PooledList<LocalRange> output)
    {
        b = UInt128.Min(b, region.Size);
        if (a >= b)
        {
            return;
        }
        bool ro = region.ReadOnly, nv = region.NonVolatile, um = region.Unmergeable;
        if (region.AliasTarget is { } target)
        {
            if (!target.Enabled)
            {
                return;
            }
            var part = new PooledList<LocalRange>(8);
            try
            {
                // Target coordinates: [a + offset, b + offset) within the target.
                AppendRendering(target, a + region.AliasOffset, b + region.AliasOffset, -(Int128)region.AliasOffset, ro, nv, um, target.Serial, ref part);
                foreach (LocalRange r in part.AsSpan())
                {
                    RangeOverlay.Append(ref output, r);
                }
            }
            finally
            {
                part.Dispose();
            }
            return;
        }
        var children = new List<MemoryRegion>();
        region.SubregionsOverlapping(a, b, children);
        children.RemoveAll(c => !c.Enabled);
        if (children.Count > 1)
        {
            children.Sort(static (x, y) =>
            {
                int c = y.Priority.CompareTo(x.Priority);
                return c != 0 ? c : y.AttachSequence.CompareTo(x.AttachSequence);
            });
        }
        var items = new PooledList<(int Rank, LocalRange Range)>(children.Count + 1);
        var part2 = new PooledList<LocalRange>(8);
        try
        {
            for (int rank = 0; rank < children.Count; rank++)
            {
                MemoryRegion child = children[rank];
                part2.Clear();
                UInt128 s = a > child.Address ? a - child.Address : 0;
                UInt128 e = b - child.Address; // b > child.Address: the child overlaps [a, b)
                AppendRendering(child, s, e, child.Address, ro, nv, um, child.Serial, ref part2);
                foreach (LocalRange r in part2.AsSpan())
                {
                    items.Add((rank, r));
                }
            }
            if (OwnFill(region, a, b, ro, nv, um) is { } fill)
            {
                items.Add((children.Count, fill));
            }
            RangeOverlay.FirstWins(items.AsSpan(), ref output);
        }
        finally
        {
            items.Dispose();
            part2.Dispose();
        }
    }

    /// <summary>
    /// Appends the part [<paramref name="a"/>, <paramref name="b"/>) of <paramref name="child"/>'s
    /// rendering (child coordinates), moved by <paramref name="shift"/> into the parent's coordinates,
    /// with the parent's flags added and the edge <paramref name="edge"/> folded into each piece's path.
    /// </summary>
    private void AppendRendering(MemoryRegion child, UInt128 a, UInt128 b, Int128 shift, bool ro, bool nv, bool um, long edge, ref PooledList<LocalRange> output)
    {
        b = UInt128.Min(b, child.Size);
        if (a >= b)
        {
            return;
        }
        if (IsSimple(child))
        {
            if (OwnFill(child, a, b, false, false, false) is { } fill)
            {
                output.Add(Move(fill, shift, ro, nv, um, edge));
            }
            return;
        }
        EnsureBuilt(child);
        RangeTree tree = Cached(child)!;
        int i = tree.FirstEndingAbove((ulong)a);
        foreach (LocalRange r in tree.Enumerate(i))
        {
            if (r.Range.Start >= b)
            {
                break;
            }
            UInt128 s = UInt128.Max(r.Range.Start, a);
            UInt128 e = UInt128.Min(r.Range.End, b);
            output.Add(Move(RangeOverlay.Slice(r, s, e), shift, ro, nv, um, edge));
        }
    }

    /// <summary>The region's own fill over [a, b) (the terminal region itself, one piece), or null when it has none there.</summary>
    private LocalRange? OwnFill(MemoryRegion region, UInt128 a, UInt128 b, bool ro, bool nv, bool um)
    {
        b = UInt128.Min(b, region.Size);
        if (!region.Terminates || a >= b)
        {
            return null;
        }
        var range = new FlatRange(region, (ulong)a, (ulong)a, b - a, _dirtyLogMask(region), region.RomdMode,
            ro | region.ReadOnly, nv | region.NonVolatile, um | region.Unmergeable);
        return new LocalRange(range, Mix((ulong)region.Serial, 0x5e1f));
    }

    private static LocalRange Move(in LocalRange r, Int128 shift, bool ro, bool nv, bool um, long edge)
    {
        FlatRange fr = r.Range;
        var moved = fr with
        {
            Start = (ulong)((Int128)fr.Start + shift),
            ReadOnly = fr.ReadOnly | ro,
            NonVolatile = fr.NonVolatile | nv,
            Unmergeable = fr.Unmergeable | um,
        };
        return new LocalRange(moved, Mix((ulong)edge, r.Piece));
    }

    /// <summary>Folds one more step of a path into a piece hash (SplitMix64's finaliser over both).</summary>
    private static ulong Mix(ulong step, ulong piece)
    {
        ulong z = piece + 0x9E3779B97F4A7C15UL + (step * 0xBF58476D1CE4E5B9UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // ------------------------------------------------------------------------------------------
    // The cache
    // ------------------------------------------------------------------------------------------

    /// <summary>A region whose rendering is computed on the spot: no subregions and not an alias.</summary>
    private static bool IsSimple(MemoryRegion region) => region.AliasTarget is null && region.SubregionCount == 0;

    private RangeTree? Cached(MemoryRegion region)
        => region.RenderCache is CacheEntry { } c && c.Epoch == _epoch ? c.Tree : null;

    private void SetCached(MemoryRegion region, RangeTree tree) => region.RenderCache = new CacheEntry(_epoch, tree);

    /// <summary>
    /// Builds the renderings <paramref name="region"/> needs and then its own, without recursion (a
    /// chain of containers can be deeper than the stack).
    /// </summary>
    private void EnsureBuilt(MemoryRegion region)
    {
        if (IsSimple(region) || Cached(region) is not null)
        {
            return;
        }
        var stack = new Stack<(MemoryRegion Region, bool Expanded)>();
        stack.Push((region, false));
        while (stack.Count > 0)
        {
            (MemoryRegion r, bool expanded) = stack.Pop();
            if (Cached(r) is not null)
            {
                continue;
            }
            if (expanded)
            {
                SetCached(r, Build(r));
                continue;
            }
            stack.Push((r, true));
            foreach (MemoryRegion dep in Dependencies(r))
            {
                if (!IsSimple(dep) && Cached(dep) is null)
                {
                    stack.Push((dep, false));
                }
            }
        }
    }

    /// <summary>What a region's rendering is made of: its enabled subregions, or an alias's enabled target.</summary>
    private static IEnumerable<MemoryRegion> Dependencies(MemoryRegion region)
    {
        if (region.AliasTarget is { } target)
        {
            if (target.Enabled)
            {
                yield return target;
            }
            yield break;
        }
        foreach (MemoryRegion child in region.Subregions)
        {
            if (child.Enabled)
            {
                yield return child;
            }
        }
    }

    private sealed record CacheEntry(long Epoch, RangeTree Tree);
}
