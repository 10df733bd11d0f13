using System.Text;
using Memspace.Vcpus;

namespace Memspace.Tracing;

/// <summary>
/// Folds a timeline for reading, losing no event (each line says how many it stands for):
/// <list type="bullet">
/// <item>runs of commits that changed nothing RAM-backed (no listener heard anything, or only of
/// MMIO and I/O sections, so no accelerator mapping changed) become one line naming the regions that
/// changed;</item>
/// <item>inside one commit, repeated changes of the same region by the same function become one line
/// (PAM's four aliases per segment toggled off and on), and the register effects one device reported
/// become one line;</item>
/// <item>an accelerator mapping change and the slot state it leaves become one line;</item>
/// <item>a run of one-byte writes to the same port (a serial console) becomes one line with the text.</item>
/// </list>
/// </summary>
public static class TimelineFolder
{
    private const int NamesShown = 6;

    /// <summary>Folds <paramref name="events"/> (in recording order).</summary>
    /// <param name="events">The events.</param>
    public static IReadOnlyList<FoldedEvent> Fold(IReadOnlyList<ChainEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var result = new List<FoldedEvent>();
        var quiet = new List<ChainEvent>();
        int start = 0;
        while (start < events.Count)
        {
            int end = start;
            while (end < events.Count && events[end].Payload is not CommitEvent)
            {
                end++;
            }
            bool hasCommit = end < events.Count;
            int stop = hasCommit ? end + 1 : end;
            List<ChainEvent> group = [.. Enumerable.Range(start, stop - start).Select(i => events[i])];
            start = stop;
            if (hasCommit && group.All(e => e.Payload is RegionChangeEvent or CommitEvent or SectionEvent { Kind: "i/o" }))
            {
                // Nothing RAM-backed changed, so no accelerator mapping could: fold with its neighbours.
                quiet.AddRange(group);
                continue;
            }
            if (hasCommit && !group.Any(ChangesSomething))
            {
                FlushQuiet(result, quiet);
                // Other steps in a commit that changed nothing stay; the region changes fold into the commit's line.
                var changes = new List<ChainEvent>();
                foreach (ChainEvent e in group)
                {
                    if (e.Payload is RegionChangeEvent or CommitEvent)
                    {
                        changes.Add(e);
                    }
                    else
                    {
                        result.Add(new FoldedEvent(e, 1, e.Text));
                    }
                }
                FlushQuiet(result, changes, atCommit: true);
                continue;
            }
            FlushQuiet(result, quiet);
            FoldActive(result, group);
        }
        FlushQuiet(result, quiet);
        return result;
    }

    private static bool ChangesSomething(ChainEvent e) => e.Payload is AcceleratorMappingEvent or SlotEvent
        or SectionEvent { Callback: "region_add" or "region_del" or "log_start" or "log_stop" };

    /// <summary>One line for commits that changed no view, naming the regions whose changes they committed.</summary>
    private static void FlushQuiet(List<FoldedEvent> result, List<ChainEvent> quiet, bool atCommit = false)
    {
        if (quiet.Count == 0)
        {
            return;
        }
        List<long> commits = [.. quiet.Select(e => e.Payload).OfType<CommitEvent>().Select(c => c.Commit)];
        List<(string Region, int Count)> regions = [.. quiet.Select(e => e.Payload).OfType<RegionChangeEvent>()
            .GroupBy(c => c.Region, StringComparer.Ordinal).Select(g => (g.Key, g.Count()))];
        string which = commits.Count == 1 ? $"commit #{commits[0]}" : $"{commits.Count} commits #{commits[0]}-#{commits[^1]}";
        int changeCount = regions.Sum(r => r.Count);
        string names = string.Join(", ", regions.Take(NamesShown).Select(r => r.Count == 1 ? $"'{r.Region}'" : $"'{r.Region}' x{r.Count}"))
                       + (regions.Count > NamesShown ? $", and {regions.Count - NamesShown} more" : "");
        List<SectionEvent> sections = [.. quiet.Select(e => e.Payload).OfType<SectionEvent>()];
        string what = changeCount == 0 ? "" : $": {changeCount} region change{(changeCount == 1 ? "" : "s")} ({names})";
        string text = sections.Count == 0
            ? $"{which} changed no FlatView{what}"
            : $"{which} changed only MMIO/I/O ranges, no slot{what}; {sections.Count} MemoryRegionSection callback{(sections.Count == 1 ? "" : "s")} in " +
              string.Join(", ", sections.Select(x => $"\"{x.AddressSpace}\"").Distinct(StringComparer.Ordinal));
        result.Add(new FoldedEvent(atCommit ? quiet[^1] : quiet[0], quiet.Count, text));
        quiet.Clear();
    }

    private static void FoldActive(List<FoldedEvent> result, List<ChainEvent> group)
    {
        var lines = new List<Line>();
        var byKey = new Dictionary<(string Kind, string A, string B), Line>();
        for (int i = 0; i < group.Count; i++)
        {
            ChainEvent e = group[i];
            switch (e.Payload)
            {
                case RegionChangeEvent c:
                    Fold(("region", c.Operation, c.Region), e, c.Text);
                    break;
                case NoteEvent n when e.Structure == ChainStructure.Device:
                    Fold(("device", e.Source, DeviceTopic(n.Text)), e, n.Text);
                    break;
                case AcceleratorMappingEvent m when i + 1 < group.Count && group[i + 1].Payload is SlotEvent slot:
                    lines.Add(new Line(e, 2, [$"{m.Describe()} => {slot.Describe()}"]));
                    i++;
                    break;
                case VcpuExitEvent x when IsConsoleWrite(x):
                    int j = i;
                    var text = new StringBuilder();
                    while (j < group.Count && group[j].Payload is VcpuExitEvent y && IsConsoleWrite(y) && y.Exit.Address == x.Exit.Address)
                    {
                        text.Append((char)(byte)y.Exit.Data);
                        j++;
                    }
                    string target = x.AddressSpace is null ? "" : x.Region is null ? $" [AS \"{x.AddressSpace}\"]" : $" [AS \"{x.AddressSpace}\" -> '{x.Region}']";
                    lines.Add(new Line(e, j - i, [j - i == 1 ? e.Text : $"KVM_EXIT_IO out port 0x{x.Exit.Address:x} x{j - i}{target}: \"{Escape(text.ToString())}\""]));
                    i = j - 1;
                    break;
                default:
                    lines.Add(new Line(e, 1, [e.Text]));
                    break;
            }
        }
        foreach (Line line in lines)
        {
            result.Add(new FoldedEvent(line.First, line.Events, line.Render()));
        }

        void Fold((string, string, string) key, ChainEvent e, string text)
        {
            if (byKey.TryGetValue(key, out Line? line))
            {
                line.Events++;
                line.Texts.Add(text);
                return;
            }
            line = new Line(e, 1, [text]) { Kind = key.Item1, Prefix = key.Item1 == "region" ? $"{key.Item2} '{key.Item3}'" : null };
            byKey[key] = line;
            lines.Add(line);
        }
    }

    /// <summary>What a device note is about: its text up to the first number ("PAM register", "SMRAM").</summary>
    private static string DeviceTopic(string text)
    {
        int cut = text.IndexOf(" 0x", StringComparison.Ordinal);
        return cut < 0 ? text : text[..cut];
    }

    private static bool IsConsoleWrite(VcpuExitEvent x)
        => x.Exit is { Kind: VcpuExitKind.Io, IsWrite: true, Size: 1, Count: 1 } && x.Exit.Data is >= 0x20 and < 0x7f or 0x0a or 0x0d or 0x09;

    private static string Escape(string s)
        => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    private sealed class Line(ChainEvent first, int events, List<string> texts)
    {
        public ChainEvent First { get; } = first;

        public int Events { get; set; } = events;

        public List<string> Texts { get; } = texts;

        public string? Kind { get; init; }

        public string? Prefix { get; init; }

        public string Render()
        {
            if (Texts.Count == 1)
            {
                return Texts[0];
            }
            if (Kind == "device")
            {
                return Texts.Count == 2 ? $"{Texts[0]}; {Texts[1]}" : $"{Texts[0]} ... {Texts[^1]} ({Texts.Count} register effects)";
            }
            List<string> distinct = [.. Texts.Distinct(StringComparer.Ordinal)];
            if (distinct.Count == 1)
            {
                return $"{distinct[0]} (x{Texts.Count})";
            }
            if (Prefix is { } p && distinct.All(t => t.StartsWith(p + " ", StringComparison.Ordinal)))
            {
                return $"{p} {string.Join(", ", distinct.Select(t => t[(p.Length + 1)..]))} (x{Texts.Count})";
            }
            return $"{string.Join("; ", distinct)} (x{Texts.Count})";
        }
    }
}
