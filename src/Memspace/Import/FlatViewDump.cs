using System.Text.RegularExpressions;

namespace Memspace.Import;

/// <summary>
/// QEMU's <c>info mtree -f</c> output read back as the range lines of each address space (accelerator
/// markers such as <c> KVM</c> removed), for comparing one rendering with another.
/// </summary>
internal static partial class FlatViewDump
{
    [GeneratedRegex(@"^  ([0-9a-f]{16})-([0-9a-f]{16}) \(prio (-?\d+), ([a-z/-]+)\): (.*?)(?: @([0-9a-f]+))?$")]
    private static partial Regex RangeLine();

    [GeneratedRegex(@"^ AS ""(.*)"", root: ")]
    private static partial Regex SpaceLine();

    /// <summary>One range line: first and last address, priority, type, region and offset, as printed.</summary>
    internal readonly record struct Range(ulong Start, ulong Last, int Priority, string Type, string Region, ulong Offset)
    {
        public override string ToString() => $"[0x{Start:x}, 0x{Last:x}] {Type} '{Region}'{(Offset != 0 ? $" @0x{Offset:x}" : "")}";
    }

    /// <summary>
    /// The ranges of every address space named in the output; a name that several address spaces share
    /// (devices instantiated more than once) has one list per address space.
    /// </summary>
    public static Dictionary<string, List<List<Range>>> Parse(string text)
    {
        var spaces = new Dictionary<string, List<List<Range>>>(StringComparer.Ordinal);
        var current = new List<string>();
        var ranges = new List<Range>();
        void Flush()
        {
            foreach (string name in current)
            {
                if (!spaces.TryGetValue(name, out List<List<Range>>? views))
                {
                    spaces[name] = views = [];
                }
                views.Add(ranges);
            }
            current = [];
            ranges = [];
        }
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("FlatView #", StringComparison.Ordinal))
            {
                Flush();
                continue;
            }
            if (SpaceLine().Match(line) is { Success: true } s)
            {
                current.Add(s.Groups[1].Value);
                continue;
            }
            while (line.EndsWith(" KVM", StringComparison.Ordinal))
            {
                line = line[..^4];
            }
            if (RangeLine().Match(line) is { Success: true } m)
            {
                ranges.Add(new Range(
                    Convert.ToUInt64(m.Groups[1].Value, 16), Convert.ToUInt64(m.Groups[2].Value, 16), int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture),
                    m.Groups[4].Value, m.Groups[5].Value, m.Groups[6].Success ? Convert.ToUInt64(m.Groups[6].Value, 16) : 0));
            }
        }
        Flush();
        return spaces;
    }
}
