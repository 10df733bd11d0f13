using System.Runtime.CompilerServices;
using Memspace.Rendering;

namespace Memspace.Dispatch;

/// <summary>
/// A two-level page index over the low part of one view (what QEMU's <c>phys_page_find</c> radix
/// tree is to its dispatch): the top level has a cell per 2 MiB granule that either names the one
/// range covering the whole granule or points at a second level with a cell per 4 KiB page. A
/// lookup is two or three loads and no search, so guest accesses that miss every translation cache
/// (random addresses over many regions) keep few instructions in flight and overlap their memory
/// latency, where a tree search would serialise them.
/// </summary>
/// <remarks>
/// Built once per <see cref="DispatchTable"/> when the table has seen enough lookups to pay for it,
/// then only read. Cells it cannot answer exactly (a page shared by two ranges or partly
/// unassigned, addresses above <see cref="Limit"/>, granules beyond the second-level budget) say
/// so, and the caller searches the view's tree as before.
/// </remarks>
internal sealed class DispatchRadix
{
    /// <summary>The cell value that sends a lookup back to the tree.</summary>
    public const int Fallback = -1;

    /// <summary>log2 of the bytes one top-level cell covers.</summary>
    public const int GranuleBits = 21;

    /// <summary>Addresses the index covers at most (64 GiB: a 128 KiB top level).</summary>
    public const ulong MaxLimit = 1UL << 36;

    /// <summary>Second levels the index makes at most (2 KiB each).</summary>
    public const int MaxSecondLevels = 1024;

    private const int PageBits = 12;
    private const int PagesPerGranule = 1 << (GranuleBits - PageBits);

    // Top cell: >= 0 the entry covering the granule; Fallback; or -(k + 2) for second level k.
    private readonly int[] _top;
    private readonly int[][] _second;
    private readonly DispatchEntry[] _entries;

    private DispatchRadix(ulong limit, int[] top, int[][] second, DispatchEntry[] entries)
    {
        Limit = limit;
        _top = top;
        _second = second;
        _entries = entries;
    }

    /// <summary>Addresses from 0 up to (not including) this one are indexed.</summary>
    public ulong Limit { get; }

    /// <summary>Second levels made (granules split between ranges).</summary>
    public int SecondLevels => _second.Length;

    /// <summary>Builds the index of <paramref name="tree"/>'s ranges below <see cref="MaxLimit"/>.</summary>
    public static DispatchRadix Build(RangeTree tree, bool honourSectionReadOnly)
    {
        var entries = new List<DispatchEntry>();
        ulong limit = 0;
        foreach (LocalRange item in tree.Enumerate())
        {
            if (item.Range.Start >= MaxLimit)
            {
                break;
            }
            DispatchEntry e = DispatchEntry.For(item.Range, honourSectionReadOnly);
            entries.Add(e);
            ulong last = Math.Min(e.Start + e.LastOffset, MaxLimit - 1);
            limit = Math.Max(limit, last + 1);
        }
        int granules = (int)((limit + (1UL << GranuleBits) - 1) >> GranuleBits);
        var top = new int[granules];
        Array.Fill(top, Fallback);
        var second = new List<int[]>();
        for (int i = 0; i < entries.Count; i++)
        {
            ulong first = entries[i].Start;
            ulong last = Math.Min(first + entries[i].LastOffset, limit - 1);
            for (ulong g = first >> GranuleBits; g <= last >> GranuleBits; g++)
            {
                ulong granuleFirst = g << GranuleBits, granuleLast = granuleFirst + (1UL << GranuleBits) - 1;
                if (first <= granuleFirst && last >= granuleLast)
                {
                    top[g] = i;
                    continue;
                }
                if (top[g] == Fallback)
                {
                    if (second.Count == MaxSecondLevels)
                    {
                        continue;
                    }
                    var cells = new int[PagesPerGranule];
                    Array.Fill(cells, Fallback);
                    second.Add(cells);
                    top[g] = -(second.Count - 1 + 2);
                }
                int[] pages = second[-top[g] - 2];
                // Only pages the range covers whole: a page it shares stays with the tree.
                ulong from = Math.Max(first, granuleFirst), to = Math.Min(last, granuleLast);
                ulong firstPage = (from + (1UL << PageBits) - 1) >> PageBits;
                ulong endPage = (to + 1) >> PageBits;
                for (ulong p = firstPage; p < endPage; p++)
                {
                    pages[(int)(p & (PagesPerGranule - 1))] = i;
                }
            }
        }
        return new DispatchRadix(limit, top, second.ToArray(), entries.ToArray());
    }

    /// <summary>
    /// The entry whose range contains <paramref name="address"/>, or a reference to
    /// <see cref="DispatchEntry.Unassigned"/> with <paramref name="found"/> false when the index
    /// cannot answer (the caller then asks the tree).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly DispatchEntry Find(ulong address, out bool found)
    {
        if (address < Limit)
        {
            int cell = _top[(int)(address >> GranuleBits)];
            if (cell < Fallback)
            {
                cell = _second[-cell - 2][(int)(address >> PageBits) & (PagesPerGranule - 1)];
            }
            if (cell >= 0)
            {
                found = true;
                return ref _entries[cell];
            }
        }
        found = false;
        return ref DispatchEntry.Unassigned;
    }
}
