using Memspace.Util;

namespace Memspace.Rendering;

/// <summary>
/// Lays ranges over each other, the first (lowest rank) winning wherever they overlap, and merges the
/// result as <c>flatview_simplify</c> does: the rule that turns the subregions of one container, each
/// already rendered, into the container's rendering.
/// </summary>
internal static class RangeOverlay
{
    /// <summary>
    /// Overlays <paramref name="items"/>: each range is tagged with the rank of the contribution it comes
    /// from (lower wins); ranges of one contribution must not overlap each other. Appends the merged
    /// result, sorted by address, to <paramref name="output"/>.
    /// </summary>
    public static void FirstWins(ReadOnlySpan<(int Rank, LocalRange Range)> items, ref PooledList<LocalRange> output)
    {
        int n = items.Length;
        if (n == 0)
        {
            return;
        }
        if (n == 1)
        {
            Append(ref output, items[0].Range);
            return;
        }
        var order = new int[n];
        var starts = new ulong[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            starts[i] = items[i].Range.Range.Start;
        }
        Array.Sort(starts, order);
        var active = new PriorityQueue<int, (int Rank, int Index)>();
        int next = 0;
        UInt128 at = starts[0];
        while (true)
        {
            while (next < n && starts[next] <= at)
            {
                int p = order[next++];
                active.Enqueue(p, (items[p].Rank, p));
            }
            while (active.Count > 0 && items[active.Peek()].Range.Range.End <= at)
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
                continue;
            }
            int winner = active.Peek();
            ref readonly LocalRange w = ref items[winner].Range;
            UInt128 boundary = w.Range.End;
            if (next < n && starts[next] < boundary)
            {
                boundary = starts[next];
            }
            Append(ref output, Slice(w, at, boundary));
            at = boundary;
        }
    }

    /// <summary>The part [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="r"/> (which covers it).</summary>
    public static LocalRange Slice(in LocalRange r, UInt128 start, UInt128 end)
    {
        FlatRange fr = r.Range;
        if (fr.Start == start && fr.End == end)
        {
            return r;
        }
        return new LocalRange(fr with
        {
            OffsetInRegion = fr.OffsetInRegion + (ulong)(start - fr.Start),
            Start = (ulong)start,
            Size = end - start,
        }, r.Piece);
    }

    /// <summary>Appends <paramref name="r"/>, merging it into the last range when they continue each other.</summary>
    public static void Append(ref PooledList<LocalRange> output, in LocalRange r)
    {
        if (output.Count > 0)
        {
            ref LocalRange last = ref output[output.Count - 1];
            if (Mergeable(last, r))
            {
                last = Merge(last, r);
                return;
            }
        }
        output.Add(r);
    }

    /// <summary>
    /// Whether <paramref name="b"/> continues <paramref name="a"/> into one range: QEMU's <c>can_merge</c>,
    /// or the same walk's stretches of one terminal region (one gap in QEMU's terms, even when unmergeable).
    /// </summary>
    public static bool Mergeable(in LocalRange a, in LocalRange b)
    {
        if (a.Range.End != b.Range.Start)
        {
            return false;
        }
        if (a.Piece == b.Piece && a.Range.Region == b.Range.Region
            && (UInt128)a.Range.OffsetInRegion + a.Range.Size == b.Range.OffsetInRegion)
        {
            return true;
        }
        return a.Range.CanMerge(b.Range);
    }

    /// <summary>One range covering <paramref name="a"/> and then <paramref name="b"/> (which must be <see cref="Mergeable"/>).</summary>
    public static LocalRange Merge(in LocalRange a, in LocalRange b)
        => new(a.Range with { Size = a.Range.Size + b.Range.Size }, a.Piece);
}
