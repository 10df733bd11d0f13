namespace Memspace.Import;

/// <summary>One line of a parsed <c>info mtree</c> tree.</summary>
internal sealed class ParsedRegion
{
    public required string Name { get; set; }

    public required int Line { get; init; }

    /// <summary>Absolute start as printed.</summary>
    public required ulong Start { get; init; }

    /// <summary>Absolute end as printed (inclusive).</summary>
    public required ulong End { get; init; }

    /// <summary>The line carried QEMU's <c>[DETECTED OVERFLOW!]</c> marker (the end wrapped past 2^64).</summary>
    public required bool Overflow { get; init; }

    public required int Priority { get; init; }

    /// <summary><c>ram</c>, <c>rom</c>, <c>romd</c>, <c>ramd</c> or <c>i/o</c>.</summary>
    public required string Type { get; init; }

    public required bool NonVolatile { get; init; }

    public required bool Disabled { get; init; }

    /// <summary>Alias target name, or null.</summary>
    public string? AliasTarget { get; set; }

    /// <summary>For an alias line before names are split: "NAME @TARGET".</summary>
    public string? RawAlias { get; init; }

    public ulong AliasStart { get; init; }

    public int Level { get; init; }

    public ParsedRegion? Parent { get; set; }

    public List<ParsedRegion> Children { get; } = [];

    /// <summary>Offset in the parent (or, for a section or tree root, the printed start).</summary>
    public ulong Address => Parent is null ? Start : unchecked(Start - Parent.Start);

    public bool IsAlias => AliasTarget is not null;

    /// <summary>Size implied by the printed extent.</summary>
    public UInt128 Size(IReadOnlySet<string> empty)
    {
        if (Start == End && empty.Contains(Name))
        {
            return 0;
        }
        // END = START + size - 1 in 64 bits: an end below the start wrapped past 2^64. (QEMU also
        // prints the overflow marker when the start wrapped relative to the container; that does not
        // change the size. Whether the marker belongs there is checked by printing the graph back.)
        return End < Start
            ? ((UInt128)1 << 64) - Start + End + 1
            : (UInt128)(End - Start) + 1;
    }

    /// <summary>This region and everything below it, in print order (an explicit stack, no recursion).</summary>
    public IEnumerable<ParsedRegion> SelfAndDescendants()
    {
        var stack = new Stack<ParsedRegion>();
        stack.Push(this);
        while (stack.Count > 0)
        {
            ParsedRegion r = stack.Pop();
            yield return r;
            for (int i = r.Children.Count - 1; i >= 0; i--)
            {
                stack.Push(r.Children[i]);
            }
        }
    }

    /// <summary>Whether two printed subtrees describe the same region (same text relative to their roots).</summary>
    public static bool SameShape(ParsedRegion a, ParsedRegion b)
    {
        if (!SameLine(a, b))
        {
            return false;
        }
        var stack = new Stack<(ParsedRegion A, ParsedRegion B)>();
        stack.Push((a, b));
        while (stack.Count > 0)
        {
            (ParsedRegion x, ParsedRegion y) = stack.Pop();
            for (int i = 0; i < x.Children.Count; i++)
            {
                ParsedRegion cx = x.Children[i], cy = y.Children[i];
                if (cx.Address != cy.Address || !SameLine(cx, cy))
                {
                    return false;
                }
                stack.Push((cx, cy));
            }
        }
        return true;
    }

    /// <summary>Whether two lines print the same region, ignoring where it sits; child counts included.</summary>
    private static bool SameLine(ParsedRegion a, ParsedRegion b)
        => a.Name == b.Name && a.Type == b.Type && a.Priority == b.Priority && a.NonVolatile == b.NonVolatile
           && a.Disabled == b.Disabled && a.AliasTarget == b.AliasTarget && a.AliasStart == b.AliasStart
           && unchecked(a.End - a.Start) == unchecked(b.End - b.Start) && a.Children.Count == b.Children.Count;
}
