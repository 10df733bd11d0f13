using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Cli.Map;

/// <summary>
/// Precomputes, for one address space, the explanation of every address from 0 to 2^64 - 1 as a
/// sorted list of <see cref="ExplanationTemplate"/>s. Intervals start at every boundary that can
/// change an explanation (each region's start and end as seen through containers and aliases, flat
/// ranges, KVM slots); each template is checked against the real explanation at its interval's
/// second, middle and last address, and an interval that fails is split in two until it passes.
/// </summary>
internal static class ExplanationTable
{
    private const int MaxTemplates = 200_000;
    private const int MaxDepth = 64;

    /// <summary>Builds the table.</summary>
    /// <param name="space">The address space.</param>
    /// <param name="explain">The explanation text of one address (what <c>memspace explain</c> prints).</param>
    /// <param name="extraBoundaries">More addresses where explanations may change (for example KVM slot bounds).</param>
    public static List<ExplanationTemplate> Build(AddressSpace space, Func<ulong, string> explain, IEnumerable<ulong> extraBoundaries)
    {
        ArgumentNullException.ThrowIfNull(space);
        var cuts = new HashSet<ulong> { 0 };
        Collect(space.Root, 0, 0, (Int128)1 << 64, cuts, 0);
        foreach (FlatRange r in space.CurrentMap.Ranges)
        {
            cuts.Add(r.Start);
            if (r.End < ((UInt128)1 << 64))
            {
                cuts.Add((ulong)r.End);
            }
        }
        cuts.UnionWith(extraBoundaries);
        List<ulong> sorted = [.. cuts.Order()];
        var result = new List<ExplanationTemplate>(sorted.Count);
        for (int i = 0; i < sorted.Count; i++)
        {
            UInt128 end = i + 1 < sorted.Count ? sorted[i + 1] : (UInt128)1 << 64;
            Add(sorted[i], end, explain, result, 0);
        }
        return result;
    }

    private static void Add(ulong start, UInt128 end, Func<ulong, string> explain, List<ExplanationTemplate> into, int depth)
    {
        if (into.Count >= MaxTemplates)
        {
            throw new InvalidOperationException($"the map needs more than {MaxTemplates} explanation intervals");
        }
        string first = explain(start);
        if (end - start == 1)
        {
            into.Add(ExplanationTemplate.Literal(start, first));
            return;
        }
        ulong last = (ulong)(end - 1);
        ulong middle = (ulong)(start + ((end - start) / 2));
        ExplanationTemplate? t = ExplanationTemplate.Infer(start, first, explain(start + 1));
        if (t is not null && t.Render(last) == explain(last) && t.Render(middle) == explain(middle))
        {
            into.Add(t);
            return;
        }
        if (depth >= MaxDepth)
        {
            throw new InvalidOperationException($"cannot describe the explanations of [0x{start:x}, 0x{end:x}) by one template");
        }
        Add(start, middle, explain, into, depth + 1);
        Add(middle, end, explain, into, depth + 1);
    }

    /// <summary>
    /// Adds the bounds of <paramref name="mr"/>, placed so that its offset 0 is at address
    /// <paramref name="origin"/>, clipped to [<paramref name="lo"/>, <paramref name="hi"/>), and of what it shows.
    /// </summary>
    private static void Collect(MemoryRegion mr, Int128 origin, Int128 lo, Int128 hi, HashSet<ulong> cuts, int depth)
    {
        Int128 start = Int128.Max(origin, lo), end = Int128.Min(origin + (Int128)mr.Size, hi);
        if (start >= end || depth > MaxDepth || cuts.Count > MaxTemplates)
        {
            return;
        }
        cuts.Add((ulong)start);
        if (end < (Int128)1 << 64)
        {
            cuts.Add((ulong)end);
        }
        if (!mr.Enabled)
        {
            return;
        }
        if (mr.AliasTarget is { } target)
        {
            Collect(target, origin - mr.AliasOffset, start, end, cuts, depth + 1);
            return;
        }
        foreach (MemoryRegion sub in mr.Subregions)
        {
            Collect(sub, origin + sub.Address, start, end, cuts, depth + 1);
        }
    }
}
