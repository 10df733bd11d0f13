using System.Globalization;
using System.Text.RegularExpressions;

namespace Memspace.Import;

/// <summary>
/// Parses the text of QEMU's <c>info mtree -D</c> into address-space groups and sections, reading it
/// as a stream: a line longer than <see cref="MaxLineLength"/> or nested deeper than
/// <see cref="MaxDepth"/> levels is refused when it is reached, so no input makes the parser hold
/// more than one line or recurse.
/// </summary>
internal static partial class MtreeDumpParser
{
    /// <summary>Deepest nesting accepted, counting the levels an alias adds by leading into its target's section.</summary>
    public const int MaxDepth = 512;

    /// <summary>Longest line accepted: the indentation of <see cref="MaxDepth"/> levels and room for long names.</summary>
    public const int MaxLineLength = 2 * MaxDepth + 4096;

    private const string LineFormat = "'START-END (prio P, TYPE): NAME' with 16-digit hex addresses";

    [GeneratedRegex(@"^(?<ovf>\[DETECTED OVERFLOW!\] )?(?<indent> *)(?<start>[0-9a-f]{16})-(?<end>[0-9a-f]{16}) \(prio (?<prio>-?[0-9]+), (?<nv>nv-)?(?<type>ram|rom|romd|ramd|i/o)\): (?<rest>.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex TreeLine();

    [GeneratedRegex(@"^alias (?<names>.+) (?<astart>[0-9a-f]{16})-(?<aend>[0-9a-f]{16})$", RegexOptions.CultureInvariant)]
    private static partial Regex AliasRest();

    [GeneratedRegex(@"( (owner|parent):\{(dev|obj) [^{}]*\})+$| orphan$", RegexOptions.CultureInvariant)]
    private static partial Regex OwnerSuffix();

    /// <summary>Reads one line (without its end), or null at the end of the input.</summary>
    private static string? ReadLine(TextReader reader, int lineNo, System.Text.StringBuilder buffer)
    {
        buffer.Clear();
        int c = reader.Read();
        if (c < 0)
        {
            return null;
        }
        while (c >= 0 && c != '\n')
        {
            if (buffer.Length == MaxLineLength)
            {
                throw new MtreeImportException(lineNo, $"line longer than {MaxLineLength} characters; this is not 'info mtree' output");
            }
            buffer.Append((char)c);
            c = reader.Read();
        }
        if (buffer.Length > 0 && buffer[^1] == '\r')
        {
            buffer.Length--;
        }
        return buffer.ToString();
    }

    public static MtreeDump Parse(TextReader reader)
    {
        var dump = new MtreeDump();
        var buffer = new System.Text.StringBuilder();
        List<string>? groupNames = null;
        ParsedRegion? root = null;
        string? sectionName = null;
        var stack = new List<ParsedRegion>();
        int lineNo = 0;

        void FinishBlock(int at)
        {
            if (groupNames is null && sectionName is null)
            {
                return;
            }
            if (root is null)
            {
                throw new MtreeImportException(at, groupNames is not null
                    ? $"address space '{groupNames[^1]}' has no region tree; expected a line like {LineFormat}"
                    : $"memory-region '{sectionName}' has no region tree; expected a line like {LineFormat}");
            }
            if (groupNames is not null)
            {
                dump.Groups.Add((groupNames, root));
            }
            else
            {
                bool named = root.RawAlias is null
                    ? root.Name == sectionName
                    : root.RawAlias.StartsWith(sectionName + " @", StringComparison.Ordinal);
                if (!named)
                {
                    throw new MtreeImportException(root.Line, $"section 'memory-region: {sectionName}' prints a region with another name");
                }
                dump.Sections.Add(root);
            }
            groupNames = null;
            sectionName = null;
            root = null;
            stack.Clear();
        }

        while (ReadLine(reader, lineNo + 1, buffer) is { } line)
        {
            lineNo++;
            if (line.Length == 0)
            {
                FinishBlock(lineNo);
                continue;
            }
            dump.Lines.Add((lineNo, line.StartsWith("address-space: ", StringComparison.Ordinal) || line.StartsWith("memory-region: ", StringComparison.Ordinal)
                ? line
                : OwnerSuffix().Replace(line, "")));
            if (line.StartsWith("address-space: ", StringComparison.Ordinal))
            {
                if (root is not null || sectionName is not null)
                {
                    throw new MtreeImportException(lineNo, "expected an empty line before the next 'address-space:' line");
                }
                (groupNames ??= []).Add(line["address-space: ".Length..]);
                continue;
            }
            if (line.StartsWith("memory-region: ", StringComparison.Ordinal))
            {
                if (groupNames is not null || sectionName is not null)
                {
                    throw new MtreeImportException(lineNo, "expected an empty line before 'memory-region:'");
                }
                sectionName = line["memory-region: ".Length..];
                continue;
            }
            if (line.StartsWith("FlatView #", StringComparison.Ordinal))
            {
                throw new MtreeImportException(lineNo, "this is 'info mtree -f' output; import the region tree printed by 'info mtree -D'");
            }
            Match m = TreeLine().Match(line);
            if (!m.Success)
            {
                throw new MtreeImportException(lineNo, $"expected 'address-space: NAME', 'memory-region: NAME', an empty line or {LineFormat}; got '{Truncate(line)}'");
            }
            if (groupNames is null && sectionName is null)
            {
                throw new MtreeImportException(lineNo, "region line outside a block: expected 'address-space: NAME' or 'memory-region: NAME' first");
            }
            int spaces = m.Groups["indent"].Length;
            if (spaces < 2 || spaces % 2 != 0)
            {
                throw new MtreeImportException(lineNo, $"indentation of {spaces} spaces: expected a positive even number (two per level)");
            }
            int level = spaces / 2;
            if (level > MaxDepth)
            {
                throw new MtreeImportException(lineNo, $"regions nested {level} levels deep; at most {MaxDepth} are accepted");
            }
            ParsedRegion node = ParseRegion(m, lineNo, level);
            if (level == 1)
            {
                if (root is not null)
                {
                    throw new MtreeImportException(lineNo, "a second top-level region in one block; expected an empty line between blocks");
                }
                root = node;
                stack.Add(node);
                continue;
            }
            if (root is null)
            {
                throw new MtreeImportException(lineNo, $"indentation level {level} before the block's top-level region (level 1)");
            }
            if (level > stack.Count + 1)
            {
                throw new MtreeImportException(lineNo, $"indentation jumps from level {stack.Count} to {level}: a parent line is missing. Plain 'info mtree' hides disabled regions but prints their children; import 'info mtree -D' output");
            }
            while (stack.Count >= level)
            {
                stack.RemoveAt(stack.Count - 1);
            }
            ParsedRegion parent = stack[^1];
            node.Parent = parent;
            parent.Children.Add(node);
            stack.Add(node);
        }
        FinishBlock(lineNo + 1);
        if (dump.Groups.Count == 0)
        {
            throw new MtreeImportException(0, "no 'address-space:' block found; expected the output of QEMU's 'info mtree -D'");
        }
        return dump;
    }

    private static ParsedRegion ParseRegion(Match m, int lineNo, int level)
    {
        string rest = m.Groups["rest"].Value;
        rest = OwnerSuffix().Replace(rest, "");
        bool disabled = rest.EndsWith(" [disabled]", StringComparison.Ordinal);
        if (disabled)
        {
            rest = rest[..^" [disabled]".Length];
        }
        if (!int.TryParse(m.Groups["prio"].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int prio))
        {
            throw new MtreeImportException(lineNo, $"priority '{m.Groups["prio"].Value}' is not a 32-bit integer");
        }
        ulong start = ulong.Parse(m.Groups["start"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        ulong end = ulong.Parse(m.Groups["end"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Match a = AliasRest().Match(rest);
        bool isAlias = a.Success && a.Groups["names"].Value.Contains(" @", StringComparison.Ordinal);
        if (rest.Length == 0)
        {
            throw new MtreeImportException(lineNo, "region without a name");
        }
        return new ParsedRegion
        {
            Name = isAlias ? "" : rest,
            Line = lineNo,
            Start = start,
            End = end,
            Overflow = m.Groups["ovf"].Success,
            Priority = prio,
            Type = m.Groups["type"].Value,
            NonVolatile = m.Groups["nv"].Success,
            Disabled = disabled,
            RawAlias = isAlias ? a.Groups["names"].Value : null,
            AliasStart = isAlias ? ulong.Parse(a.Groups["astart"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) : 0,
            Level = level,
        };
    }

    /// <summary>
    /// Splits every alias's "NAME @TARGET" text. Names may contain " @", so the split that names a
    /// known <c>memory-region:</c> section is preferred, then the first.
    /// </summary>
    public static void SplitAliasNames(MtreeDump dump)
    {
        var sectionNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (ParsedRegion s in dump.Sections)
        {
            if (s.RawAlias is null)
            {
                sectionNames.Add(s.Name);
            }
        }
        IEnumerable<ParsedRegion> all = dump.Groups.SelectMany(g => g.Root.SelfAndDescendants())
            .Concat(dump.Sections.SelectMany(s => s.SelfAndDescendants())).ToList();
        foreach (ParsedRegion r in all)
        {
            if (r.RawAlias is not { } raw)
            {
                continue;
            }
            int chosen = -1;
            for (int i = raw.IndexOf(" @", StringComparison.Ordinal); i >= 0; i = raw.IndexOf(" @", i + 1, StringComparison.Ordinal))
            {
                if (chosen < 0 || sectionNames.Contains(raw[(i + 2)..]))
                {
                    chosen = i;
                    if (sectionNames.Contains(raw[(i + 2)..]))
                    {
                        break;
                    }
                }
            }
            r.Name = raw[..chosen];
            r.AliasTarget = raw[(chosen + 2)..];
        }
    }

    private static string Truncate(string s) => s.Length <= 100 ? s : s[..100] + "...";
}
