using System.Runtime.CompilerServices;
using Memspace.Util;

namespace Memspace.Rendering;

/// <summary>
/// An immutable, sorted sequence of disjoint <see cref="LocalRange"/>s held in a B+-tree: the storage of
/// every rendered view and of every region's cached rendering. Lookups by address and by position are
/// O(log n); <see cref="Splice"/> returns a new tree that shares every node the change did not touch,
/// so a commit that changes a few ranges of a view with 100,000 costs a few node copies, not a copy of
/// the view.
/// </summary>
internal sealed class RangeTree
{
    /// <summary>Most items in a leaf and most children of an inner node.</summary>
    private const int Max = 32;

    /// <summary>The tree with no ranges.</summary>
    public static readonly RangeTree Empty = new(null);

    private readonly Node? _root;

    private RangeTree(Node? root) => _root = root;

    /// <summary>Number of ranges.</summary>
    public int Count => _root?.Count ?? 0;

    /// <summary>A tree of <paramref name="items"/>, which must be sorted by start and disjoint.</summary>
    public static RangeTree Build(ReadOnlySpan<LocalRange> items) => items.IsEmpty ? Empty : new RangeTree(Grow(Leaves(items)));

    /// <summary>The range at position <paramref name="index"/>.</summary>
    public ref readonly LocalRange this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"the tree has {Count} ranges");
            }
            Node n = _root!;
            while (n is Inner inner)
            {
                int c = inner.ChildAtPosition(index);
                index -= c == 0 ? 0 : inner.Ends[c - 1];
                n = inner.Children[c];
            }
            return ref ((Leaf)n).Items[index];
        }
    }

    /// <summary>The leaf that holds the range with the largest start at or below <paramref name="address"/>, and its index there; null when every range starts above it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Leaf? LeafFor(ulong address, out int indexInLeaf)
    {
        Node? n = _root;
        if (n is null || address < n.FirstStart)
        {
            indexInLeaf = -1;
            return null;
        }
        while (n is Inner inner)
        {
            n = inner.Children[inner.ChildAtAddress(address)];
        }
        var leaf = (Leaf)n;
        indexInLeaf = leaf.IndexAtAddress(address);
        return leaf;
    }

    /// <summary>The leaf whose first start is the largest at or below <paramref name="address"/>; null when every range starts above it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Leaf? LeafAt(ulong address)
    {
        Node? n = _root;
        if (n is null || address < n.FirstStart)
        {
            return null;
        }
        while (n is Inner inner)
        {
            n = inner.Children[inner.ChildAtAddress(address)];
        }
        return (Leaf)n;
    }

    /// <summary>Position of the range that contains <paramref name="address"/>, or -1.</summary>
    public int IndexOf(ulong address)
    {
        int i = LastStartingAtOrBelow(address);
        return i >= 0 && this[i].Range.Contains(address) ? i : -1;
    }

    /// <summary>Position of the last range whose start is at or below <paramref name="address"/>, or -1.</summary>
    public int LastStartingAtOrBelow(ulong address)
    {
        Node? n = _root;
        if (n is null || address < n.FirstStart)
        {
            return -1;
        }
        int baseIndex = 0;
        while (n is Inner inner)
        {
            int c = inner.ChildAtAddress(address);
            baseIndex += c == 0 ? 0 : inner.Ends[c - 1];
            n = inner.Children[c];
        }
        return baseIndex + ((Leaf)n).IndexAtAddress(address);
    }

    /// <summary>Position of the first range that ends above <paramref name="address"/> (contains it or lies above it); <see cref="Count"/> when none.</summary>
    public int FirstEndingAbove(ulong address)
    {
        int i = LastStartingAtOrBelow(address);
        if (i < 0)
        {
            return 0;
        }
        return this[i].Range.End > address ? i : i + 1;
    }

    /// <summary>The ranges at positions [<paramref name="from"/>, <paramref name="to"/>), in order.</summary>
    public IEnumerable<LocalRange> Enumerate(int from = 0, int to = int.MaxValue)
    {
        to = Math.Min(to, Count);
        if (from >= to)
        {
            yield break;
        }
        // Walk leaf by leaf: a stack of (inner node, next child) down to the leaf holding 'from'.
        var stack = new Stack<(Inner Node, int Child)>();
        Node n = _root!;
        int skip = from;
        while (n is Inner inner)
        {
            int c = inner.ChildAtPosition(skip);
            skip -= c == 0 ? 0 : inner.Ends[c - 1];
            stack.Push((inner, c + 1));
            n = inner.Children[c];
        }
        int remaining = to - from;
        var leaf = (Leaf)n;
        int at = skip;
        while (true)
        {
            for (; at < leaf.Items.Length && remaining > 0; at++, remaining--)
            {
                yield return leaf.Items[at];
            }
            if (remaining == 0)
            {
                yield break;
            }
            // Next leaf: climb until an inner node has a child left, then go down its leftmost path.
            Node? next = null;
            while (stack.Count > 0)
            {
                (Inner inner, int c) = stack.Pop();
                if (c < inner.Children.Length)
                {
                    stack.Push((inner, c + 1));
                    next = inner.Children[c];
                    break;
                }
            }
            if (next is null)
            {
                yield break;
            }
            while (next is Inner inner2)
            {
                stack.Push((inner2, 1));
                next = inner2.Children[0];
            }
            leaf = (Leaf)next;
            at = 0;
        }
    }

    /// <summary>Copies every range into a new array.</summary>
    public LocalRange[] ToArray()
    {
        var result = new LocalRange[Count];
        int i = 0;
        foreach (LocalRange r in Enumerate())
        {
            result[i++] = r;
        }
        return result;
    }

    /// <summary>
    /// A tree in which the ranges at positions [<paramref name="from"/>, <paramref name="to"/>) are
    /// replaced by <paramref name="items"/>; the caller keeps the whole sequence sorted and disjoint.
    /// Only the nodes on the paths to the changed positions are copied.
    /// </summary>
    public RangeTree Splice(int from, int to, ReadOnlySpan<LocalRange> items)
    {
        if (from < 0 || to < from || to > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(from), $"[{from}, {to}) is not a span of a tree of {Count} ranges");
        }
        if (_root is null)
        {
            return Build(items);
        }
        if (from == to && items.IsEmpty)
        {
            return this;
        }
        List<Node> replaced = Replace(_root, from, to, items);
        return replaced.Count == 0 ? Empty : new RangeTree(Grow(replaced));
    }

    /// <summary>Cuts <paramref name="items"/> into leaves of at most <see cref="Max"/>, as evenly as possible.</summary>
    private static List<Node> Leaves(ReadOnlySpan<LocalRange> items)
    {
        var leaves = new List<Node>();
        int n = items.Length;
        int parts = (n + Max - 1) / Max;
        int at = 0;
        for (int p = 0; p < parts; p++)
        {
            int take = (n - at) / (parts - p);
            leaves.Add(new Leaf(items.Slice(at, take).ToArray()));
            at += take;
        }
        return leaves;
    }

    /// <summary>Groups <paramref name="nodes"/> into inner nodes of at most <see cref="Max"/> children.</summary>
    private static List<Node> Group(List<Node> nodes)
    {
        var groups = new List<Node>();
        int n = nodes.Count;
        int parts = (n + Max - 1) / Max;
        int at = 0;
        for (int p = 0; p < parts; p++)
        {
            int take = (n - at) / (parts - p);
            groups.Add(new Inner(nodes.GetRange(at, take).ToArray()));
            at += take;
        }
        return groups;
    }

    /// <summary>Adds levels above <paramref name="nodes"/> until one node holds them all.</summary>
    private static Node Grow(List<Node> nodes)
    {
        while (nodes.Count > 1)
        {
            nodes = Group(nodes);
        }
        return nodes[0];
    }

    /// <summary>The nodes that replace <paramref name="node"/> after replacing its positions [from, to) by <paramref name="items"/>.</summary>
    private static List<Node> Replace(Node node, int from, int to, ReadOnlySpan<LocalRange> items)
    {
        if (node is Leaf leaf)
        {
            var combined = new LocalRange[from + items.Length + (leaf.Items.Length - to)];
            leaf.Items.AsSpan(0, from).CopyTo(combined);
            items.CopyTo(combined.AsSpan(from));
            leaf.Items.AsSpan(to).CopyTo(combined.AsSpan(from + items.Length));
            return combined.Length == 0 ? [] : Leaves(combined);
        }
        var inner = (Inner)node;
        Node[] children = inner.Children;
        int first = inner.ChildAtPosition(Math.Min(from, inner.Count - 1));
        if (from == inner.Count)
        {
            first = children.Length - 1;
        }
        var result = new List<Node>(children.Length + 2);
        for (int c = 0; c < first; c++)
        {
            result.Add(children[c]);
        }
        int c0 = first == 0 ? 0 : inner.Ends[first - 1];
        int end0 = inner.Ends[first];
        result.AddRange(Replace(children[first], from - c0, Math.Min(to, end0) - c0, items));
        int c2 = first + 1;
        for (; c2 < children.Length; c2++)
        {
            int start = inner.Ends[c2 - 1];
            if (start >= to)
            {
                break;
            }
            int end = inner.Ends[c2];
            if (end > to)
            {
                result.AddRange(Replace(children[c2], 0, to - start, []));
                c2++;
                break;
            }
            // Entirely inside [from, to): dropped.
        }
        for (; c2 < children.Length; c2++)
        {
            result.Add(children[c2]);
        }
        if (result.Count == 0)
        {
            return [];
        }
        return result.Count <= Max ? [new Inner([.. result])] : Group(result);
    }

    /// <summary>A node of the tree.</summary>
    internal abstract class Node
    {
        /// <summary>Number of ranges below the node.</summary>
        public int Count;

        /// <summary>Start of the node's first range.</summary>
        public ulong FirstStart;
    }

    /// <summary>A leaf: up to <see cref="Max"/> ranges, and a slot where a consumer caches what it derives from them.</summary>
    internal sealed class Leaf : Node
    {
        public Leaf(LocalRange[] items)
        {
            Items = items;
            Count = items.Length;
            FirstStart = items[0].Range.Start;
        }

        /// <summary>The ranges, sorted by start.</summary>
        public readonly LocalRange[] Items;

        /// <summary>
        /// What a consumer derived from <see cref="Items"/> (the dispatch layer's entries), set once with
        /// <see cref="Interlocked.CompareExchange{T}(ref T, T, T)"/>; the leaf never changes, so neither does it.
        /// </summary>
        public object? Attachment;

        /// <summary>Index of the last item starting at or below <paramref name="address"/> (0 when the first starts above it).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int IndexAtAddress(ulong address)
        {
            LocalRange[] items = Items;
            int lo = 0, n = items.Length;
            while (n > 1)
            {
                int half = n >> 1;
                lo = items[lo + half].Range.Start <= address ? lo + half : lo;
                n -= half;
            }
            return lo;
        }
    }

    /// <summary>An inner node: up to <see cref="Max"/> children, with their cumulative counts and first starts.</summary>
    internal sealed class Inner : Node
    {
        public Inner(Node[] children)
        {
            Children = children;
            Ends = new int[children.Length];
            Starts = new ulong[children.Length];
            int total = 0;
            for (int i = 0; i < children.Length; i++)
            {
                total += children[i].Count;
                Ends[i] = total;
                Starts[i] = children[i].FirstStart;
            }
            Count = total;
            FirstStart = Starts[0];
        }

        public readonly Node[] Children;

        /// <summary>Ends[i]: number of ranges in children 0..i.</summary>
        public readonly int[] Ends;

        /// <summary>Starts[i]: first start of child i.</summary>
        public readonly ulong[] Starts;

        /// <summary>The child holding position <paramref name="index"/> (0 ≤ index &lt; Count).</summary>
        public int ChildAtPosition(int index)
        {
            int[] ends = Ends;
            int lo = 0, hi = ends.Length - 1;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (ends[mid] > index)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }
            return lo;
        }

        /// <summary>The last child whose first start is at or below <paramref name="address"/> (0 when none).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int ChildAtAddress(ulong address) => BranchFree.LastAtOrBelow(Starts, address);
    }
}

/// <summary>
/// A rendered range with the identity of the walk that produced it: ranges with the same
/// <see cref="Piece"/> came from the same path through the graph to the same terminal region, so two
/// of them that touch are one gap in QEMU's terms and render as one range even when unmergeable.
/// </summary>
internal readonly struct LocalRange
{
    /// <summary>The range (addresses local to the region whose rendering holds it).</summary>
    public readonly FlatRange Range;

    /// <summary>A hash of the path from that region down to the terminal region.</summary>
    public readonly ulong Piece;

    public LocalRange(in FlatRange range, ulong piece)
    {
        Range = range;
        Piece = piece;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Range} piece {Piece:x}";
}
