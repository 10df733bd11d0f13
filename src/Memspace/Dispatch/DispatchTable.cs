using System.Runtime.CompilerServices;
using Memspace.Rendering;
using Memspace.Util;

namespace Memspace.Dispatch;

/// <summary>
/// What guest accesses use to find their way through one <see cref="FlatView"/> (the role of QEMU's
/// <c>AddressSpaceDispatch</c>): a <see cref="DispatchEntry"/> per range. Entries are made per leaf of
/// the view's range tree the first time an access lands there, with a compact array of the ranges'
/// starts to search, and kept on the leaf; so a view made by an incremental commit reuses the entries
/// of every leaf it shares with the view before it, and a commit never rebuilds a whole table.
/// Address spaces that share a view share its table. Once a table has answered enough lookups to
/// pay for it, it also gets a <see cref="DispatchRadix"/> page index, which answers most lookups
/// without a search. Readers write nothing but a leaf's entries and the index, once each, and a
/// lookup count until the index exists.
/// </summary>
internal sealed class DispatchTable
{
    private static long s_nextId;

    private readonly bool _honourSectionReadOnly;
    private readonly RangeTree _tree;
    private readonly int _radixAfter;
    private DispatchRadix? _radix;
    private int _lookups;

    /// <summary>Makes the table of <paramref name="view"/>.</summary>
    /// <param name="view">The rendered view.</param>
    /// <param name="honourSectionReadOnly">Whether a section's read-only flag makes its RAM read-only (Memspace's rule) or only the region's own flag does (QEMU 7.2's).</param>
    public DispatchTable(FlatView view, bool honourSectionReadOnly)
    {
        View = view;
        _tree = view.Tree;
        _honourSectionReadOnly = honourSectionReadOnly;
        Id = Interlocked.Increment(ref s_nextId);
        // The index costs about a pass over the ranges; build it once lookups have cost as much.
        _radixAfter = RadixThreshold + view.Count / 4;
    }

    /// <summary>Lookups a table answers by searching before it builds its page index (plus a quarter of its range count).</summary>
    internal static int RadixThreshold { get; set; } = 256;

    /// <summary>The page index, once built.</summary>
    internal DispatchRadix? Radix => Volatile.Read(ref _radix);

    /// <summary>The view the table serves.</summary>
    public FlatView View { get; }

    /// <summary>A number no other table has had: what a thread's translation cache compares, instead of holding the table.</summary>
    public long Id { get; }

    /// <summary>The entry for <paramref name="address"/>, or <see cref="DispatchEntry.Unassigned"/> (whose region is null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly DispatchEntry EntryFor(ulong address)
    {
        DispatchRadix? radix = _radix;
        if (radix is not null)
        {
            ref readonly DispatchEntry indexed = ref radix.Find(address, out bool found);
            if (found)
            {
                return ref indexed;
            }
        }
        else if (++_lookups > _radixAfter)
        {
            // The count is a hint: two readers racing on it at worst build the index twice.
            BuildRadix();
        }
        return ref Search(address);
    }

    /// <summary>Builds (once) the page index; the first one published wins.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal DispatchRadix BuildRadix()
    {
        var made = DispatchRadix.Build(_tree, _honourSectionReadOnly);
        return Interlocked.CompareExchange(ref _radix, made, null) ?? made;
    }

    /// <summary>The entry for <paramref name="address"/> found by searching the view's tree.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal ref readonly DispatchEntry Search(ulong address)
    {
        RangeTree.Leaf? leaf = _tree.LeafAt(address);
        if (leaf is null)
        {
            return ref DispatchEntry.Unassigned;
        }
        LeafEntries made = leaf.Attachment is LeafEntries m ? m : Make(leaf);
        ref readonly DispatchEntry e = ref made.Find(address);
        return ref address - e.Start <= e.LastOffset ? ref e : ref DispatchEntry.Unassigned;
    }

    /// <summary>The entry of the range that follows <paramref name="e"/> directly (starts where it ends), or <see cref="DispatchEntry.Unassigned"/>.</summary>
    public ref readonly DispatchEntry Next(in DispatchEntry e)
    {
        ulong last = e.Start + e.LastOffset;
        if (last == ulong.MaxValue)
        {
            return ref DispatchEntry.Unassigned;
        }
        ref readonly DispatchEntry next = ref EntryFor(last + 1);
        return ref next.Start == last + 1 ? ref next : ref DispatchEntry.Unassigned;
    }

    /// <summary>First address at or above <paramref name="address"/> that some range covers, or null.</summary>
    public ulong? NextStart(ulong address) => View.NextStart(address);

    /// <summary>Makes (once) the entries of a leaf.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private LeafEntries Make(RangeTree.Leaf leaf)
    {
        var made = new LeafEntries(leaf.Items, _honourSectionReadOnly);
        // Two readers may race here: both make the same entries, and the first one published wins.
        return Interlocked.CompareExchange(ref leaf.Attachment, made, null) as LeafEntries ?? made;
    }

    /// <summary>The entries of one leaf, with their starts in a compact array to search.</summary>
    private sealed class LeafEntries
    {
        private readonly ulong[] _starts;
        private readonly DispatchEntry[] _entries;

        public LeafEntries(LocalRange[] items, bool honourSectionReadOnly)
        {
            _starts = new ulong[items.Length];
            _entries = new DispatchEntry[items.Length];
            for (int i = 0; i < items.Length; i++)
            {
                _starts[i] = items[i].Range.Start;
                _entries[i] = DispatchEntry.For(items[i].Range, honourSectionReadOnly);
            }
        }

        /// <summary>The entry of the last range starting at or below <paramref name="address"/> (the first when none does).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref readonly DispatchEntry Find(ulong address) => ref _entries[BranchFree.LastAtOrBelow(_starts, address)];
    }
}
