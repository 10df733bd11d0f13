using System.Buffers;
using Memspace.Regions;
using Memspace.Util;

namespace Memspace.Rendering;

/// <summary>
/// Renders a region graph into the ranges of a <see cref="FlatView"/>, by QEMU's rules
/// (<c>render_memory_region</c> followed by <c>flatview_simplify</c>).
/// </summary>
/// <remarks>
/// <para>
/// QEMU walks the graph depth first (subregions in list order, then the region itself if it
/// terminates) and lets each terminal region fill the gaps of its clipped extent that no earlier
/// region has claimed. The result at any address is therefore the <em>first</em> terminal region in
/// walk order whose clipped extent covers it.
/// </para>
/// <para>
/// This renderer computes exactly that function, but in O(P log P) for P visited terminal regions
/// instead of QEMU's O(P·N) insertions into a sorted array: the walk records each terminal's clipped
/// extent as a numbered piece, then a sweep over the pieces in address order keeps the
/// lowest-numbered active piece in a heap. Consecutive stretches of the same piece form one range (one gap filled
/// in QEMU); stretches of different pieces are merged afterwards with QEMU's <c>can_merge</c> rule.
/// </para>
/// </remarks>
internal static class FlatViewRenderer
{
    private static readonly Int128 s_2To64 = (Int128)1 << 64;

    private readonly record struct Piece(
        MemoryRegion Region, Int128 Base, Int128 Start, Int128 End, byte DirtyLogMask,
        bool ReadOnly, bool NonVolatile, bool Unmergeable);

    private readonly record struct Frame(MemoryRegion Region, Int128 Base, Int128 ClipStart, Int128 ClipEnd,
        bool ReadOnly, bool NonVolatile, bool Unmergeable, bool EmitOnly, int Depth);

    /// <summary>
    /// Deepest nesting of aliases on one render path. Aliases may point back into their own container
    /// (Arm's SSE does this); such a cycle ends once the clip becomes empty. Graph changes that would
    /// make a render path follow more aliases than this are refused (see <see cref="Terminates"/>), so
    /// the renderer never meets an endless one. Containers nest without limit (every subregion edge
    /// goes down a tree, so only aliases can make a path endless).
    /// </summary>
    internal const int MaxDepth = 512;

    /// <summary>How many region visits the termination check allows before it calls a graph unrenderable.</summary>
    internal const int TrialVisitBudget = 1_000_000;

    /// <summary>Renders <paramref name="root"/> (null renders nothing).</summary>
    /// <param name="root">The physical root.</param>
    /// <param name="dirtyLogMask">The effective dirty-log mask of a terminal region.</param>
    public static FlatRange[] Render(MemoryRegion? root, Func<MemoryRegion, byte> dirtyLogMask)
    {
        if (root is null)
        {
            return [];
        }
        var pieces = new PooledList<Piece>(64);
        try
        {
            CollectPieces(root, dirtyLogMask, ref pieces);
            return Sweep(pieces.AsSpan());
        }
        finally
        {
            pieces.Dispose();
        }
    }

    /// <summary>
    /// Walks the graph in QEMU's render order and returns every terminal region's clipped extent,
    /// in the order QEMU would fill it.
    /// </summary>
    private static void CollectPieces(MemoryRegion root, Func<MemoryRegion, byte> dirtyLogMask, ref PooledList<Piece> pieces)
    {
        var stack = new PooledList<Frame>(64);
        try
        {
            stack.Add(new Frame(root, 0, 0, s_2To64, false, false, false, false, 0));
            Walk(ref stack, dirtyLogMask, ref pieces, int.MaxValue);
        }
        finally
        {
            stack.Dispose();
        }
    }

    /// <summary>
    /// Whether rendering from <paramref name="from"/> over its whole extent, which bounds every other
    /// way of reaching it, ends within <see cref="MaxDepth"/> levels and <see cref="TrialVisitBudget"/>
    /// visits.
    /// </summary>
    internal static bool Terminates(MemoryRegion from, out string reason)
    {
        var stack = new PooledList<Frame>(64);
        var pieces = new PooledList<Piece>(64);
        try
        {
            // An unbounded clip: wherever the region is really reached from (even through an alias
            // that moves it below 0 or past 2^64), that walk is a shifted, narrower copy of this one.
            stack.Add(new Frame(from, 0, Int128.MinValue / 4, Int128.MaxValue / 4, false, false, false, false, 0));
            int result = Walk(ref stack, static _ => 0, ref pieces, TrialVisitBudget);
            reason = result switch
            {
                0 => "",
                1 => $"rendering would nest aliases more than {MaxDepth} deep (an alias cycle whose window never shrinks to nothing)",
                _ => $"rendering would visit more than {TrialVisitBudget} regions (alias cycles that multiply)",
            };
            return result == 0;
        }
        finally
        {
            stack.Dispose();
            pieces.Dispose();
        }
    }

    /// <summary>Returns 0 when done, 1 when a path went deeper than <see cref="MaxDepth"/> (and budget is finite), 2 when the budget ran out.</summary>
    private static int Walk(ref PooledList<Frame> stack, Func<MemoryRegion, byte> dirtyLogMask, ref PooledList<Piece> pieces, int visitBudget)
    {
        bool trial = visitBudget != int.MaxValue;
        while (stack.Count > 0)
        {
            Frame f = stack.Pop();
            MemoryRegion mr = f.Region;
            if (f.Depth > MaxDepth)
            {
                // Only an alias cycle gets here; changes that would make one endless are refused, so
                // this is a guard, and the trial run reports it.
                if (trial)
                {
                    return 1;
                }
                continue;
            }
            if (trial && --visitBudget < 0)
            {
                return 2;
            }
            if (f.EmitOnly)
            {
                // The region's own fill, after all its subregions.
                pieces.Add(new Piece(mr, f.Base, f.ClipStart, f.ClipEnd, dirtyLogMask(mr), f.ReadOnly, f.NonVolatile, f.Unmergeable));
                continue;
            }
            if (!mr.Enabled)
            {
                continue;
            }
            Int128 b = f.Base + (Int128)mr.Address;
            bool ro = f.ReadOnly | mr.ReadOnly;
            bool nv = f.NonVolatile | mr.NonVolatile;
            bool um = f.Unmergeable | mr.Unmergeable;
            var extent = new AddrRange(b, b + (Int128)mr.Size);
            var clip = new AddrRange(f.ClipStart, f.ClipEnd);
            if (!extent.Intersects(clip))
            {
                continue;
            }
            (Int128 clipStart, Int128 clipEnd) = extent.Intersection(clip);
            if (mr.AliasTarget is { } target)
            {
                Int128 aliasBase = b - (Int128)target.Address - (Int128)mr.AliasOffset;
                stack.Add(new Frame(target, aliasBase, clipStart, clipEnd, ro, nv, um, false, f.Depth + 1));
                continue;
            }
            if (mr.Terminates && clipEnd > clipStart)
            {
                stack.Add(new Frame(mr, b, clipStart, clipEnd, ro, nv, um, true, f.Depth));
            }
            IReadOnlyList<MemoryRegion> subs = mr.Subregions;
            for (int i = subs.Count - 1; i >= 0; i--)
            {
                stack.Add(new Frame(subs[i], b, clipStart, clipEnd, ro, nv, um, false, f.Depth));
            }
        }
        return 0;
    }

    /// <summary>
    /// Walks the pieces in order of their start address, keeping the active ones in a heap keyed by
    /// walk order; the heap's top owns the addresses up to its end or the next start, whichever
    /// comes first. Pieces that ended are dropped lazily when they reach the top.
    /// </summary>
    private static FlatRange[] Sweep(ReadOnlySpan<Piece> pieces)
    {
        int n = pieces.Length;
        if (n == 0)
        {
            return [];
        }
        // Every piece starts below 2^64, so the sort keys are plain ulongs.
        ulong[] startsArray = ArrayPool<ulong>.Shared.Rent(n);
        int[] byStartArray = ArrayPool<int>.Shared.Rent(n);
        var output = new PooledList<FlatRange>(n);
        try
        {
            Span<ulong> starts = startsArray.AsSpan(0, n);
            Span<int> byStart = byStartArray.AsSpan(0, n);
            for (int i = 0; i < n; i++)
            {
                starts[i] = (ulong)pieces[i].Start;
                byStart[i] = i;
            }
            starts.Sort(byStart);
            SweepSorted(pieces, starts, byStart, ref output);
            return output.AsSpan().ToArray();
        }
        finally
        {
            output.Dispose();
            ArrayPool<ulong>.Shared.Return(startsArray);
            ArrayPool<int>.Shared.Return(byStartArray);
        }
    }

    private static void SweepSorted(ReadOnlySpan<Piece> pieces, ReadOnlySpan<ulong> starts, ReadOnlySpan<int> byStart, ref PooledList<FlatRange> output)
    {
        int n = pieces.Length;
        var active = new PriorityQueue<int, int>();
        int next = 0;
        int lastPiece = -1;
        Int128 at = starts[0];
        while (true)
        {
            while (next < n && starts[next] <= at)
            {
                int p = byStart[next++];
                active.Enqueue(p, p);
            }
            while (active.Count > 0 && pieces[active.Peek()].End <= at)
            {
                active.Dequeue();
            }
            if (active.Count == 0)
            {
                if (next == n)
                {
                    break;
                }
                at = starts[next];
                lastPiece = -1;
                continue;
            }
            int winner = active.Peek();
            Int128 boundary = pieces[winner].End;
            if (next < n && starts[next] < boundary)
            {
                boundary = starts[next];
            }
            Append(ref output, pieces[winner], winner == lastPiece, at, boundary);
            lastPiece = winner;
            at = boundary;
        }
    }

    private static void Append(ref PooledList<FlatRange> output, in Piece piece, bool samePiece, Int128 start, Int128 end)
    {
        var range = new FlatRange(
            piece.Region,
            (ulong)(start - piece.Base),
            (ulong)start,
            (UInt128)(end - start),
            piece.DirtyLogMask,
            piece.Region.RomdMode,
            piece.ReadOnly,
            piece.NonVolatile,
            piece.Unmergeable);
        if (output.Count > 0)
        {
            ref FlatRange last = ref output[output.Count - 1];
            // Within one piece, adjacent stretches are one gap in QEMU's terms (one range even when
            // unmergeable); across pieces, flatview_simplify's rule applies.
            if ((samePiece && last.End == range.Start) || last.CanMerge(range))
            {
                last = last with { Size = last.Size + range.Size };
                return;
            }
        }
        output.Add(range);
    }
}
