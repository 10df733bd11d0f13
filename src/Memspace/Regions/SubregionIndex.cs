namespace Memspace.Regions;

/// <summary>
/// The subregions of one container, twice over: in rendering order (priority descending, the most
/// recently added first among equals: QEMU's list order) and by address, as an interval treap that
/// finds the children overlapping an interval in O(log n + k). Adding, removing and moving a child
/// costs O(log n), so a container with 100,000 children changes as cheaply as one with ten.
/// </summary>
internal sealed class SubregionIndex
{
    private readonly SortedSet<MemoryRegion> _byRank = new(RankOrder.Instance);
    private Node? _root;
    private MemoryRegion[]? _ordered;
    private ulong _random = 0x9E3779B97F4A7C15;

    /// <summary>Number of children.</summary>
    public int Count => _byRank.Count;

    /// <summary>The children in rendering order (rebuilt after a change, on first use: O(n)).</summary>
    public MemoryRegion[] Ordered => _ordered ??= [.. _byRank];

    /// <summary>The children in rendering order, without building <see cref="Ordered"/> (for walks that stop early).</summary>
    public IEnumerable<MemoryRegion> ByRank => _ordered ?? (IEnumerable<MemoryRegion>)_byRank;

    /// <summary>Adds <paramref name="child"/>, whose address, size, priority and attach sequence are set.</summary>
    public void Add(MemoryRegion child)
    {
        _byRank.Add(child);
        child.IndexedStart = child.Address;
        child.IndexedEnd = (UInt128)child.Address + child.Size;
        _root = Insert(_root, new Node(child, NextPriority()));
        _ordered = null;
    }

    /// <summary>Removes <paramref name="child"/> (found by the extent it was indexed with).</summary>
    public void Remove(MemoryRegion child)
    {
        _byRank.Remove(child);
        _root = Delete(_root, child);
        _ordered = null;
    }

    /// <summary>Re-indexes <paramref name="child"/> after its extent changed (its rank did not).</summary>
    public void Reindex(MemoryRegion child)
    {
        _root = Delete(_root, child);
        child.IndexedStart = child.Address;
        child.IndexedEnd = (UInt128)child.Address + child.Size;
        _root = Insert(_root, new Node(child, NextPriority()));
    }

    /// <summary>Adds every child whose extent overlaps [<paramref name="start"/>, <paramref name="end"/>) to <paramref name="into"/> (in no particular order).</summary>
    public void Overlapping(UInt128 start, UInt128 end, List<MemoryRegion> into)
    {
        if (start >= end || _root is null)
        {
            return;
        }
        var stack = new Stack<Node>();
        stack.Push(_root);
        while (stack.Count > 0)
        {
            Node n = stack.Pop();
            if (n.MaxEnd <= start)
            {
                continue;
            }
            if (n.Left is not null)
            {
                stack.Push(n.Left);
            }
            MemoryRegion r = n.Region;
            if (r.IndexedStart < end)
            {
                if (r.IndexedEnd > start)
                {
                    into.Add(r);
                }
                if (n.Right is not null)
                {
                    stack.Push(n.Right);
                }
            }
        }
    }

    private ulong NextPriority()
    {
        ulong x = _random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        _random = x;
        return x;
    }

    /// <summary>Orders by indexed start, then serial (unique).</summary>
    private static int Compare(MemoryRegion a, MemoryRegion b)
    {
        int c = ((UInt128)a.IndexedStart).CompareTo(b.IndexedStart);
        return c != 0 ? c : a.Serial.CompareTo(b.Serial);
    }

    private static Node Insert(Node? root, Node node)
    {
        if (root is null)
        {
            return node;
        }
        if (node.Priority > root.Priority)
        {
            Split(root, node.Region, out node.Left, out node.Right);
            node.Update();
            return node;
        }
        if (Compare(node.Region, root.Region) < 0)
        {
            root.Left = Insert(root.Left, node);
        }
        else
        {
            root.Right = Insert(root.Right, node);
        }
        root.Update();
        return root;
    }

    /// <summary>Splits <paramref name="root"/> into the nodes before <paramref name="key"/> and the rest.</summary>
    private static void Split(Node? root, MemoryRegion key, out Node? left, out Node? right)
    {
        if (root is null)
        {
            left = right = null;
            return;
        }
        if (Compare(root.Region, key) < 0)
        {
            Split(root.Right, key, out root.Right, out right);
            left = root;
        }
        else
        {
            Split(root.Left, key, out left, out root.Left);
            right = root;
        }
        root.Update();
    }

    private static Node? Merge(Node? a, Node? b)
    {
        if (a is null)
        {
            return b;
        }
        if (b is null)
        {
            return a;
        }
        if (a.Priority > b.Priority)
        {
            a.Right = Merge(a.Right, b);
            a.Update();
            return a;
        }
        b.Left = Merge(a, b.Left);
        b.Update();
        return b;
    }

    private static Node? Delete(Node? root, MemoryRegion region)
    {
        if (root is null)
        {
            return null;
        }
        if (root.Region == region)
        {
            return Merge(root.Left, root.Right);
        }
        if (Compare(region, root.Region) < 0)
        {
            root.Left = Delete(root.Left, region);
        }
        else
        {
            root.Right = Delete(root.Right, region);
        }
        root.Update();
        return root;
    }

    private sealed class Node(MemoryRegion region, ulong priority)
    {
        public readonly MemoryRegion Region = region;
        public readonly ulong Priority = priority;
        public Node? Left;
        public Node? Right;
        public UInt128 MaxEnd = region.IndexedEnd;

        public void Update()
        {
            UInt128 m = Region.IndexedEnd;
            if (Left is not null && Left.MaxEnd > m)
            {
                m = Left.MaxEnd;
            }
            if (Right is not null && Right.MaxEnd > m)
            {
                m = Right.MaxEnd;
            }
            MaxEnd = m;
        }
    }

    /// <summary>QEMU's subregion list order: priority descending, then the most recently attached first.</summary>
    private sealed class RankOrder : IComparer<MemoryRegion>
    {
        public static readonly RankOrder Instance = new();

        public int Compare(MemoryRegion? x, MemoryRegion? y)
        {
            int c = y!.Priority.CompareTo(x!.Priority);
            return c != 0 ? c : y.AttachSequence.CompareTo(x.AttachSequence);
        }
    }
}
