using System.Globalization;
using Memspace.Printing;
using Memspace.Regions;

namespace Memspace.Diff;

/// <summary>
/// Compares two memory maps (two imports, a QEMU dump and one of Memspace's machines, before and
/// after firmware): per address space the flat ranges added, removed and changed, then the regions, by
/// path, that one side lacks or whose properties differ.
/// </summary>
public static class MemoryMapDiff
{
    /// <summary>Compares <paramref name="left"/> (A) with <paramref name="right"/> (B).</summary>
    /// <param name="left">Map A.</param>
    /// <param name="right">Map B.</param>
    public static MemoryMapDiffResult Compare(MemorySystem left, MemorySystem right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        List<(string Name, List<MapRange> Ranges)> a = Views(left);
        List<(string Name, List<MapRange> Ranges)> b = Views(right);
        var spaces = new List<AddressSpaceDiff>();
        // Address spaces are paired by name; several of one name (devices instantiated more than once) in order.
        var unmatched = b.ToList();
        foreach ((string name, List<MapRange> ranges) in a)
        {
            int j = unmatched.FindIndex(x => x.Name == name);
            if (j < 0)
            {
                spaces.Add(new AddressSpaceDiff(name, DiffPresence.Left, [], ranges, []));
                continue;
            }
            spaces.Add(CompareRanges(name, ranges, unmatched[j].Ranges));
            unmatched.RemoveAt(j);
        }
        foreach ((string name, List<MapRange> ranges) in unmatched)
        {
            spaces.Add(new AddressSpaceDiff(name, DiffPresence.Right, ranges, [], []));
        }
        return new MemoryMapDiffResult(spaces, CompareRegions(Regions(left), Regions(right)));
    }

    private static List<(string Name, List<MapRange> Ranges)> Views(MemorySystem system)
    {
        lock (system.TopologyLock)
        {
            return system.AddressSpaces.Select(s => (s.Name, s.CurrentMap.Ranges.Select(r => MapRange.From(r)).ToList())).ToList();
        }
    }

    private static AddressSpaceDiff CompareRanges(string name, List<MapRange> a, List<MapRange> b)
    {
        var byExtent = new Dictionary<(ulong, UInt128), MapRange>();
        foreach (MapRange r in b)
        {
            byExtent[(r.Start, r.End)] = r;
        }
        var removed = new List<MapRange>();
        var changed = new List<(MapRange, MapRange)>();
        var matched = new HashSet<(ulong, UInt128)>();
        foreach (MapRange r in a)
        {
            if (byExtent.TryGetValue((r.Start, r.End), out MapRange other))
            {
                matched.Add((r.Start, r.End));
                if (r != other)
                {
                    changed.Add((r, other));
                }
            }
            else
            {
                removed.Add(r);
            }
        }
        return new AddressSpaceDiff(name, DiffPresence.Both, b.Where(r => !matched.Contains((r.Start, r.End))).ToList(), removed, changed);
    }

    /// <summary>A region's path, start and the properties compared.</summary>
    private sealed record RegionFacts(string Path, ulong Start, SortedDictionary<string, string> Properties);

    /// <summary>Every region the address spaces reach, in print order, without recursion.</summary>
    private static List<RegionFacts> Regions(MemorySystem system)
    {
        var facts = new List<RegionFacts>();
        lock (system.TopologyLock)
        {
            var seen = new HashSet<MemoryRegion>(ReferenceEqualityComparer.Instance);
            var tops = system.AddressSpaces.Select(s => s.Root).ToList();
            for (int t = 0; t < tops.Count; t++)
            {
                MemoryRegion top = tops[t];
                while (top.Container is { } outer)
                {
                    top = outer;
                }
                if (seen.Contains(top))
                {
                    continue;
                }
                var stack = new Stack<(MemoryRegion Region, string Path, ulong Start)>();
                stack.Push((top, top.Name, 0));
                while (stack.Count > 0)
                {
                    (MemoryRegion mr, string path, ulong start) = stack.Pop();
                    if (!seen.Add(mr))
                    {
                        continue;
                    }
                    var properties = new SortedDictionary<string, string>(StringComparer.Ordinal)
                    {
                        ["type"] = mr.IsAlias ? "alias of " + MtreePrinter.TypeName(mr) : MtreePrinter.TypeName(mr),
                        ["start"] = Hex(start),
                        ["size"] = Hex(mr.Size),
                        ["priority"] = mr.Priority.ToString(CultureInfo.InvariantCulture),
                        ["enabled"] = mr.Enabled ? "true" : "false",
                        ["readOnly"] = mr.ReadOnly ? "true" : "false",
                        ["nonVolatile"] = mr.NonVolatile ? "true" : "false",
                    };
                    if (mr.AliasTarget is { } target)
                    {
                        properties["alias"] = $"{target.Name} @{Hex(mr.AliasOffset)}";
                        tops.Add(target);
                    }
                    facts.Add(new RegionFacts(path, start, properties));
                    MemoryRegion[] children = mr.Subregions.OrderBy(static r => r.Address).ThenByDescending(static r => r.Priority).ToArray();
                    for (int i = children.Length - 1; i >= 0; i--)
                    {
                        stack.Push((children[i], path + "/" + children[i].Name, unchecked(start + children[i].Address)));
                    }
                }
            }
        }
        return facts;
    }

    private static List<RegionDiff> CompareRegions(List<RegionFacts> a, List<RegionFacts> b)
    {
        // Paths several regions share (PAM's segments) are told apart by their start.
        var shared = a.GroupBy(f => f.Path).Concat(b.GroupBy(f => f.Path)).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        string Key(RegionFacts f) => shared.Contains(f.Path) ? $"{f.Path} @{Hex(f.Start)}" : f.Path;
        var right = new Dictionary<string, RegionFacts>(StringComparer.Ordinal);
        foreach (RegionFacts f in b)
        {
            right.TryAdd(Key(f), f);
        }
        var diffs = new List<RegionDiff>();
        var matched = new HashSet<string>(StringComparer.Ordinal);
        foreach (RegionFacts f in a)
        {
            string key = Key(f);
            if (!matched.Add(key))
            {
                continue;
            }
            if (!right.TryGetValue(key, out RegionFacts? g))
            {
                diffs.Add(new RegionDiff(key, DiffPresence.Left, []));
                continue;
            }
            var differences = f.Properties.Keys.Union(g.Properties.Keys)
                .Where(p => f.Properties.GetValueOrDefault(p) != g.Properties.GetValueOrDefault(p))
                .Select(p => (p, f.Properties.GetValueOrDefault(p) ?? "", g.Properties.GetValueOrDefault(p) ?? ""))
                .ToList();
            if (differences.Count > 0)
            {
                diffs.Add(new RegionDiff(key, DiffPresence.Both, differences));
            }
        }
        foreach (RegionFacts f in b)
        {
            string key = Key(f);
            if (matched.Add(key))
            {
                diffs.Add(new RegionDiff(key, DiffPresence.Right, []));
            }
        }
        return diffs;
    }

    private static string Hex(UInt128 value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
