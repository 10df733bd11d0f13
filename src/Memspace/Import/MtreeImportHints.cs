using Memspace.Printing;

namespace Memspace.Import;

/// <summary>
/// Works out the facts an <c>info mtree -D</c> dump does not print (<see cref="MtreeImportOptions"/>)
/// from QEMU's own flat views of the same machine (<c>info mtree -f</c>): import, render, compare each
/// address space's ranges with QEMU's, and let every difference decide a fact, until the renderings
/// agree or no difference decides anything more.
/// </summary>
/// <remarks>
/// A range QEMU shows from an <c>i/o</c> region with subregions means that region has callbacks of its
/// own (terminating); a range Memspace shows from an <c>i/o</c> region without subregions that QEMU does
/// not show means an empty pure container; a one-byte range of a region printed <c>X-X</c> that QEMU does
/// not show means an empty region; a range QEMU prints <c>rom</c> where Memspace renders RAM means the
/// aliases that show that RAM there are read-only.
/// </remarks>
public static class MtreeImportHints
{
    private const int MaxRounds = 16;

    /// <summary>Derives the options and lists what still differs.</summary>
    /// <param name="dump">QEMU's <c>info mtree -D</c> output.</param>
    /// <param name="flatViews">QEMU's <c>info mtree -f</c> output of the same machine at the same moment.</param>
    /// <exception cref="MtreeImportException">The dump is malformed.</exception>
    public static MtreeImportHintsResult Derive(string dump, string flatViews)
    {
        ArgumentNullException.ThrowIfNull(dump);
        ArgumentNullException.ThrowIfNull(flatViews);
        MtreeDump parsed = MtreeDumpParser.Parse(new StringReader(dump));
        MtreeDumpParser.SplitAliasNames(parsed);
        var all = parsed.Groups.SelectMany(g => g.Root.SelfAndDescendants()).Concat(parsed.Sections.SelectMany(s => s.SelfAndDescendants())).ToList();
        var ioWithChildren = all.Where(n => !n.IsAlias && n.Type == "i/o" && n.Children.Count > 0).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var ioLeaves = all.Where(n => !n.IsAlias && n.Type == "i/o" && n.Children.Count == 0).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var pointLike = all.Where(n => n.Start == n.End).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);

        Dictionary<string, List<List<FlatViewDump.Range>>> expected = FlatViewDump.Parse(flatViews);
        // A region QEMU shows anywhere handles accesses: it is no empty container, whatever else shares its name.
        var shownByQemu = expected.Values.SelectMany(v => v).SelectMany(v => v).Select(r => r.Region).ToHashSet(StringComparer.Ordinal);
        var terminating = new HashSet<string>(StringComparer.Ordinal);
        var containers = new HashSet<string>(StringComparer.Ordinal);
        var readOnly = new HashSet<string>(StringComparer.Ordinal);
        var empty = new HashSet<string>(StringComparer.Ordinal);
        List<string> differences = [];
        for (int round = 0; round < MaxRounds; round++)
        {
            var options = new MtreeImportOptions { Terminating = terminating, Containers = containers, ReadOnly = readOnly, Empty = empty };
            using MemorySystem system = MtreeImporter.Import(dump, options);
            Dictionary<string, List<List<FlatViewDump.Range>>> actual = FlatViewDump.Parse(FlatViewPrinter.ToText(system));
            differences = [];
            bool learned = false;
            foreach ((string space, List<FlatViewDump.Range> theirs, List<FlatViewDump.Range>? ours) in Pair(expected, actual))
            {
                if (ours is null)
                {
                    differences.Add($"address space \"{space}\": in QEMU's flat views but not in the dump");
                    continue;
                }
                var ourSet = ours.ToHashSet();
                var theirSet = theirs.ToHashSet();
                foreach (FlatViewDump.Range r in theirs.Where(r => !ourSet.Contains(r)))
                {
                    differences.Add($"address space \"{space}\": QEMU has {r}, Memspace renders {Describe(ours, r.Start)}");
                    if (ioWithChildren.Contains(r.Region) && terminating.Add(r.Region))
                    {
                        learned = true;
                    }
                    else if (r.Type == "rom" && ours.Any(o => o.Start <= r.Start && r.Start <= o.Last && o.Region == r.Region && o.Type == "ram"))
                    {
                        foreach (string alias in AliasesShowing(parsed, space, r.Region, r.Start))
                        {
                            learned |= readOnly.Add(alias);
                        }
                    }
                }
                foreach (FlatViewDump.Range r in ours.Where(r => !theirSet.Contains(r)))
                {
                    if (!theirs.Any(t => t.Region == r.Region && t.Start <= r.Last && r.Start <= t.Last))
                    {
                        if (r.Start == r.Last && pointLike.Contains(r.Region) && empty.Add(r.Region))
                        {
                            learned = true;
                        }
                        else if (ioLeaves.Contains(r.Region) && !shownByQemu.Contains(r.Region) && containers.Add(r.Region))
                        {
                            learned = true;
                        }
                    }
                }
            }
            if (differences.Count == 0 || !learned)
            {
                break;
            }
        }
        return new MtreeImportHintsResult(
            new MtreeImportOptions { Terminating = terminating, Containers = containers, ReadOnly = readOnly, Empty = empty },
            differences);
    }

    /// <summary>
    /// QEMU's views and Memspace's, paired by address-space name; among address spaces of one name,
    /// each of QEMU's views is paired with the most similar of Memspace's left.
    /// </summary>
    private static IEnumerable<(string Space, List<FlatViewDump.Range> Theirs, List<FlatViewDump.Range>? Ours)> Pair(
        Dictionary<string, List<List<FlatViewDump.Range>>> expected, Dictionary<string, List<List<FlatViewDump.Range>>> actual)
    {
        foreach ((string space, List<List<FlatViewDump.Range>> theirViews) in expected)
        {
            List<List<FlatViewDump.Range>> left = actual.TryGetValue(space, out List<List<FlatViewDump.Range>>? ours) ? [.. ours] : [];
            foreach (List<FlatViewDump.Range> theirs in theirViews)
            {
                if (left.Count == 0)
                {
                    yield return (space, theirs, null);
                    continue;
                }
                var set = theirs.ToHashSet();
                List<FlatViewDump.Range> best = left.MaxBy(o => o.Count(set.Contains) - Math.Abs(o.Count - theirs.Count))!;
                left.Remove(best);
                yield return (space, theirs, best);
            }
        }
    }

    private static string Describe(List<FlatViewDump.Range> ours, ulong address)
        => ours.FirstOrDefault(o => o.Start <= address && address <= o.Last) is { Region: not null } o ? o.ToString() : "nothing there";

    /// <summary>The name of the alias of <paramref name="space"/>'s tree that shows <paramref name="target"/> at <paramref name="address"/>.</summary>
    private static IEnumerable<string> AliasesShowing(MtreeDump dump, string space, string target, ulong address)
    {
        ParsedRegion? root = dump.Groups.FirstOrDefault(g => g.Names.Contains(space)).Root;
        if (root is null)
        {
            return [];
        }
        // The alias that shows the address is the narrowest enabled one covering it (PAM's segment,
        // not the RAM alias it overlays).
        ParsedRegion? narrowest = root.SelfAndDescendants()
            .Where(n => n.AliasTarget == target && !n.Disabled && n.Start <= address && address <= n.End)
            .OrderBy(n => n.End - n.Start)
            .ThenByDescending(n => n.Priority)
            .FirstOrDefault();
        return narrowest is null ? [] : [narrowest.Name];
    }
}

/// <summary>What <see cref="MtreeImportHints.Derive"/> found.</summary>
/// <param name="Options">The facts, to pass to <see cref="MtreeImporter.Import(string, MtreeImportOptions?, MemorySystemOptions?)"/>.</param>
/// <param name="Differences">Ranges that still differ from QEMU's flat views with those facts (empty when they agree).</param>
public sealed record MtreeImportHintsResult(MtreeImportOptions Options, IReadOnlyList<string> Differences);
