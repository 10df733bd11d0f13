namespace Memspace.Util;

/// <summary>
/// A map kept in key order with O(log n) insert, remove, ceiling and floor (a treap with
/// pseudo-random priorities, so its depth does not depend on the order keys arrive in). Not
/// thread-safe.
/// </summary>
internal sealed class OrderedMap<TKey, TValue>
    where TKey : IComparable<TKey>
{
    private sealed class Node(TKey key, TValue value, uint priority)
    {
        public TKey Key = key;
        public TValue Value = value;
        public readonly uint Priority = priority;
        public Node? Left;
        public Node? Right;
    }

    private Node? _root;
    private uint _seed = 0x9e3779b9;

    public int Count { get; private set; }

    private uint NextPriority()
    {
        // xorshift32: deterministic, so runs are reproducible; keys never influence it.
        uint x = _seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _seed = x;
        return x;
    }

    /// <summary>Adds <paramref name="key"/>; it must not be present.</summary>
    public void Add(TKey key, TValue value)
    {
        var node = new Node(key, value, NextPriority());
        Split(_root, key, out Node? less, out Node? greaterOrEqual);
        if (greaterOrEqual is not null && Leftmost(greaterOrEqual).Key.CompareTo(key) == 0)
        {
            _root = Merge(less, greaterOrEqual);
            throw new ArgumentException($"key {key} is already present", nameof(key));
        }
        _root = Merge(Merge(less, node), greaterOrEqual);
        Count++;
    }

    /// <summary>Removes <paramref name="key"/>; says whether it was present.</summary>
    public bool Remove(TKey key)
    {
        ref Node? link = ref _root;
        while (link is { } n)
        {
            int c = key.CompareTo(n.Key);
            if (c == 0)
            {
                link = Merge(n.Left, n.Right);
                Count--;
                return true;
            }
            link = ref c < 0 ? ref n.Left : ref n.Right;
        }
        return false;
    }

    /// <summary>The entry with the smallest key at or above <paramref name="key"/>.</summary>
    public bool Ceiling(TKey key, out TKey foundKey, out TValue foundValue)
    {
        Node? best = null;
        for (Node? n = _root; n is not null;)
        {
            if (n.Key.CompareTo(key) >= 0)
            {
                best = n;
                n = n.Left;
            }
            else
            {
                n = n.Right;
            }
        }
        return Found(best, out foundKey, out foundValue);
    }

    /// <summary>The entry with the smallest key strictly above <paramref name="key"/>.</summary>
    public bool Higher(TKey key, out TKey foundKey, out TValue foundValue)
    {
        Node? best = null;
        for (Node? n = _root; n is not null;)
        {
            if (n.Key.CompareTo(key) > 0)
            {
                best = n;
                n = n.Left;
            }
            else
            {
                n = n.Right;
            }
        }
        return Found(best, out foundKey, out foundValue);
    }

    /// <summary>The entry with the largest key strictly below <paramref name="key"/>.</summary>
    public bool Lower(TKey key, out TKey foundKey, out TValue foundValue)
    {
        Node? best = null;
        for (Node? n = _root; n is not null;)
        {
            if (n.Key.CompareTo(key) < 0)
            {
                best = n;
                n = n.Right;
            }
            else
            {
                n = n.Left;
            }
        }
        return Found(best, out foundKey, out foundValue);
    }

    /// <summary>The entry with the largest key at or below <paramref name="key"/>.</summary>
    public bool Floor(TKey key, out TKey foundKey, out TValue foundValue)
    {
        Node? best = null;
        for (Node? n = _root; n is not null;)
        {
            if (n.Key.CompareTo(key) <= 0)
            {
                best = n;
                n = n.Right;
            }
            else
            {
                n = n.Left;
            }
        }
        return Found(best, out foundKey, out foundValue);
    }

    /// <summary>The values in key order (an explicit stack, no recursion).</summary>
    public List<TValue> Values()
    {
        var values = new List<TValue>(Count);
        var stack = new Stack<Node>();
        Node? n = _root;
        while (n is not null || stack.Count > 0)
        {
            while (n is not null)
            {
                stack.Push(n);
                n = n.Left;
            }
            Node top = stack.Pop();
            values.Add(top.Value);
            n = top.Right;
        }
        return values;
    }

    /// <summary>Removes every entry.</summary>
    public void Clear()
    {
        _root = null;
        Count = 0;
    }

    private static bool Found(Node? n, out TKey key, out TValue value)
    {
        key = n is null ? default! : n.Key;
        value = n is null ? default! : n.Value;
        return n is not null;
    }

    private static Node Leftmost(Node n)
    {
        while (n.Left is { } l)
        {
            n = l;
        }
        return n;
    }

    /// <summary>Splits into keys below <paramref name="key"/> and the rest, iteratively.</summary>
    private static void Split(Node? root, TKey key, out Node? less, out Node? greaterOrEqual)
    {
        Node? lessRoot = null, geRoot = null;
        Node? lessTail = null, geTail = null; // rightmost spine of less, leftmost spine of ge
        for (Node? n = root; n is not null;)
        {
            if (n.Key.CompareTo(key) < 0)
            {
                Node? next = n.Right;
                n.Right = null;
                if (lessTail is null)
                {
                    lessRoot = n;
                }
                else
                {
                    lessTail.Right = n;
                }
                lessTail = n;
                n = next;
            }
            else
            {
                Node? next = n.Left;
                n.Left = null;
                if (geTail is null)
                {
                    geRoot = n;
                }
                else
                {
                    geTail.Left = n;
                }
                geTail = n;
                n = next;
            }
        }
        less = lessRoot;
        greaterOrEqual = geRoot;
    }

    /// <summary>Joins two treaps whose keys are ordered (every key of <paramref name="a"/> below <paramref name="b"/>'s), iteratively.</summary>
    private static Node? Merge(Node? a, Node? b)
    {
        Node? root = null;
        Node? parent = null;
        bool parentLeft = false;
        while (a is not null && b is not null)
        {
            if (a.Priority >= b.Priority)
            {
                Link(ref root, parent, parentLeft, a);
                parent = a;
                parentLeft = false;
                a = a.Right;
            }
            else
            {
                Link(ref root, parent, parentLeft, b);
                parent = b;
                parentLeft = true;
                b = b.Left;
            }
        }
        Link(ref root, parent, parentLeft, a ?? b);
        return root;
    }

    private static void Link(ref Node? root, Node? parent, bool left, Node? child)
    {
        if (parent is null)
        {
            root = child;
        }
        else if (left)
        {
            parent.Left = child;
        }
        else
        {
            parent.Right = child;
        }
    }
}
