using Memspace.Regions;

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
/// extent as a numbered piece, then a sweep over the piece boundaries keeps the lowest-numbered
/// active piece in a heap. Consecutive stretches of the same piece form one range (one gap filled
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
        bool ReadOnly, bool NonVolatile, bool Unmergeable, bool EmitOnly);

    /// <summary>Renders <paramref name="root"/> (null renders nothing).</summary>
    /// <param name="root">The physical root.</param>
    /// <param name="dirtyLogMask">The effective dirty-log mask of a terminal region.</param>
    public static FlatRange[] Render(MemoryRegion? root, Func<MemoryRegion, byte> dirtyLogMask)
    {
        if (root is null)
        {
            return [];
        }
        List<Piece> pieces = CollectPieces(root, dirtyLogMask);
        return Sweep(pieces);
    }

    /// <summary>
    /// Walks the graph in QEMU's render order and returns every terminal region's clipped extent,
    /// in the order QEMU would fill it.
    /// </summary>
    private static List<Piece> CollectPieces(MemoryRegion root, Func<MemoryRegion, byte> dirtyLogMask)
    {
        var pieces = new List<Piece>();
        var stack = new Stack<Frame>();
        stack.Push(new Frame(root, 0, 0, s_2To64, false, false, false, false));
        while (stack.Count > 0)
        {
            Frame f = stack.Pop();
            MemoryRegion mr = f.Region;
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
                stack.Push(new Frame(target, aliasBase, clipStart, clipEnd, ro, nv, um, false));
                continue;
            }
            if (mr.Terminates && clipEnd > clipStart)
            {
                stack.Push(new Frame(mr, b, clipStart, clipEnd, ro, nv, um, true));
            }
            IReadOnlyList<MemoryRegion> subs = mr.Subregions;
            for (int i = subs.Count - 1; i >= 0; i--)
            {
                stack.Push(new Frame(subs[i], b, clipStart, clipEnd, ro, nv, um, false));
            }
        }
        return pieces;
    }

    private static FlatRange[] Sweep(List<Piece> pieces)
    {
        if (pieces.Count == 0)
        {
            return [];
        }
        // Boundary events: (coordinate, piece index). Opening and closing are distinguished by
        // comparing the coordinate with the piece's start.
        var events = new (Int128 At, int Piece)[pieces.Count * 2];
        for (int i = 0; i < pieces.Count; i++)
        {
            events[2 * i] = (pieces[i].Start, i);
            events[(2 * i) + 1] = (pieces[i].End, i);
        }
        Array.Sort(events, static (x, y) => x.At.CompareTo(y.At));

        var active = new PriorityQueue<int, int>();
        var closed = new bool[pieces.Count];
        var output = new List<FlatRange>();
        int lastPiece = -1;
        int e = 0;
        while (e < events.Length)
        {
            Int128 at = events[e].At;
            for (; e < events.Length && events[e].At == at; e++)
            {
                int p = events[e].Piece;
                if (pieces[p].Start == at && !closed[p] && pieces[p].End != at)
                {
                    active.Enqueue(p, p);
                }
                else
                {
                    closed[p] = true;
                }
            }
            while (active.Count > 0 && closed[active.Peek()])
            {
                active.Dequeue();
            }
            if (active.Count == 0 || e == events.Length)
            {
                lastPiece = -1;
                continue;
            }
            Int128 next = events[e].At;
            int winner = active.Peek();
            Append(output, pieces[winner], winner == lastPiece, at, next);
            lastPiece = winner;
        }
        return [.. output];
    }

    private static void Append(List<FlatRange> output, in Piece piece, bool samePiece, Int128 start, Int128 end)
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
            FlatRange last = output[^1];
            // Within one piece, adjacent stretches are one gap in QEMU's terms (one range even when
            // unmergeable); across pieces, flatview_simplify's rule applies.
            if ((samePiece && last.End == range.Start) || last.CanMerge(range))
            {
                output[^1] = last with { Size = last.Size + range.Size };
                return;
            }
        }
        output.Add(range);
    }
}
