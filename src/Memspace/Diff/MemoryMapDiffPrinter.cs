namespace Memspace.Diff;

/// <summary>
/// Prints a <see cref="MemoryMapDiffResult"/>: per address space that differs, "-" for a range only A
/// has, "+" for one only B has, "~" for a range whose properties changed; then the regions by path.
/// </summary>
public static class MemoryMapDiffPrinter
{
    /// <summary>Prints the differences (nothing but the header and "no differences" when equal).</summary>
    /// <param name="diff">The comparison.</param>
    /// <param name="leftName">How A was given.</param>
    /// <param name="rightName">How B was given.</param>
    /// <param name="writer">Where to print.</param>
    public static void Print(MemoryMapDiffResult diff, string leftName, string rightName, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(diff);
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine($"--- A: {leftName}");
        writer.WriteLine($"+++ B: {rightName}");
        int count = 0;
        foreach (AddressSpaceDiff space in diff.AddressSpaces.Where(s => !s.IsEqual))
        {
            string where = space.Presence switch
            {
                DiffPresence.Left => " (only in A)",
                DiffPresence.Right => " (only in B)",
                _ => "",
            };
            writer.WriteLine($"address space \"{space.Name}\"{where}:");
            foreach ((char sign, MapRange r) in space.Removed.Select(r => ('-', r)).Concat(space.Added.Select(r => ('+', r))).OrderBy(x => x.r.Start).ThenBy(x => x.Item1))
            {
                writer.WriteLine($"  {sign} {r}");
                count++;
            }
            foreach ((MapRange l, MapRange r) in space.Changed)
            {
                writer.WriteLine($"  ~ {l}  ->  {r}");
                count++;
            }
        }
        if (diff.Regions.Count > 0)
        {
            writer.WriteLine("regions:");
            foreach (RegionDiff region in diff.Regions)
            {
                count++;
                switch (region.Presence)
                {
                    case DiffPresence.Left:
                        writer.WriteLine($"  - {region.Path}");
                        break;
                    case DiffPresence.Right:
                        writer.WriteLine($"  + {region.Path}");
                        break;
                    default:
                        writer.WriteLine($"  ~ {region.Path}: {string.Join(", ", region.Differences.Select(d => $"{d.Property} {d.Left} -> {d.Right}"))}");
                        break;
                }
            }
        }
        writer.WriteLine(diff.IsEqual ? "no differences" : $"{count} differences");
    }
}
