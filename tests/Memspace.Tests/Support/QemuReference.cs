using System.Globalization;
using System.Text.RegularExpressions;

namespace Memspace.Tests.Support;

/// <summary>Parsers for pieces of QEMU's <c>info mtree</c> output, for comparing machines with the corpus.</summary>
internal static partial class QemuReference
{
    /// <summary>One range line: "  start-last (prio p, kind): text".</summary>
    public readonly record struct Line(ulong Start, ulong Last, int Priority, string Kind, string Text, bool Disabled)
    {
        public ulong Size => Last - Start + 1;

        /// <summary>For a flat-view line, the region name (before " @offset").</summary>
        public string RegionName => Text.Split(" @")[0];

        /// <summary>For a tree line, the name (after "alias "), without the alias target.</summary>
        public string Name => Text.StartsWith("alias ", StringComparison.Ordinal) ? Text[6..].Split(' ')[0] : Text.Split(' ')[0];
    }

    [GeneratedRegex(@"^\s+([0-9a-f]{16})-([0-9a-f]{16}) \(prio (-?\d+), ([a-z/]+)\): (.*)$")]
    private static partial Regex LineRegex();

    public static Line? Parse(string line)
    {
        Match m = LineRegex().Match(line);
        if (!m.Success)
        {
            return null;
        }
        string text = m.Groups[5].Value;
        bool disabled = text.EndsWith(" [disabled]", StringComparison.Ordinal);
        if (disabled)
        {
            text = text[..^" [disabled]".Length];
        }
        while (text.EndsWith(" KVM", StringComparison.Ordinal))
        {
            text = text[..^4]; // QEMU prints the marker once per address space of the view that has the slot
        }
        return new Line(ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber), ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber),
            int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), m.Groups[4].Value, text, disabled);
    }

    /// <summary>The ranges of the flat view that address space <paramref name="space"/> uses, from <c>info mtree -f</c>.</summary>
    public static List<Line> FlatView(string mtreeF, string space)
    {
        foreach (string block in mtreeF.Split("\n\n"))
        {
            if (block.Split('\n').Any(l => l.StartsWith($" AS \"{space}\", root: ", StringComparison.Ordinal)))
            {
                return [.. block.Split('\n').Select(Parse).Where(l => l is not null).Select(l => l!.Value)];
            }
        }
        throw new InvalidOperationException($"no flat view for AS \"{space}\"");
    }

    /// <summary>The lines of one section ("address-space: memory", "memory-region: smram") of <c>info mtree -D</c>.</summary>
    public static List<string> Section(string mtree, string header)
    {
        foreach (string block in mtree.Split("\n\n"))
        {
            // Address spaces with the same root are printed under one group of header lines.
            string[] lines = block.Split('\n');
            if (lines.TakeWhile(l => l.Length > 0 && l[0] != ' ').Contains(header))
            {
                return [.. lines.Where(l => l.StartsWith(' '))];
            }
        }
        throw new InvalidOperationException($"no section '{header}'");
    }

    /// <summary>Only RAM-backed lines (ram, rom, romd).</summary>
    public static IEnumerable<Line> RamBacked(IEnumerable<Line> lines) => lines.Where(l => l.Kind is "ram" or "rom" or "romd");
}
