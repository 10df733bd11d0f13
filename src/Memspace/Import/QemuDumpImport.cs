namespace Memspace.Import;

/// <summary>
/// Imports what a user has from QEMU: the <c>info mtree -D</c> text, as a plain dump or inside a pasted
/// monitor transcript, with QEMU's flat views when they are there. With flat views the facts the dump
/// does not print are derived from them (<see cref="MtreeImportHints"/>); without, QEMU 7.2's known
/// devices supply them (<see cref="QemuKnownRegions.Qemu72"/>). Either way the warnings say what could
/// not be decided.
/// </summary>
public static class QemuDumpImport
{
    /// <summary>
    /// Finds the dump and the flat views in a text: a monitor transcript (banner, <c>(qemu)</c> prompts,
    /// terminal escapes; the last <c>info mtree -D</c> and <c>info mtree -f</c> outputs are taken), or
    /// the plain output of <c>info mtree -D</c>.
    /// </summary>
    /// <param name="text">What the user gave.</param>
    /// <exception cref="MtreeImportException">A transcript without <c>info mtree -D</c> output.</exception>
    public static (string Dump, string? FlatViews) Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        MonitorTranscript transcript = MonitorTranscript.Parse(text);
        if (!transcript.HadPrompt)
        {
            // Plain output; a line may still carry a carriage return or escapes from a terminal.
            return (string.Join("\n", text.Split('\n').Select(MonitorTranscript.Redraw)), null);
        }
        string? dump = transcript.MtreeOutput("-D");
        if (dump is null)
        {
            string seen = transcript.Commands.Count == 0 ? "none" : string.Join(", ", transcript.Commands.Select(c => $"'{c.Command}'"));
            throw new MtreeImportException(0, $"the monitor transcript has no 'info mtree -D' output (commands: {seen})");
        }
        return (dump, transcript.MtreeOutput("-f"));
    }

    /// <summary>Imports a dump, deriving or supplying the facts it does not print.</summary>
    /// <param name="dump">QEMU's <c>info mtree -D</c> output.</param>
    /// <param name="flatViews">QEMU's <c>info mtree -f</c> output of the same moment, or null.</param>
    /// <param name="extra">Facts the user gave, added to those derived or known.</param>
    /// <exception cref="MtreeImportException">The dump is malformed.</exception>
    public static QemuDumpImportResult Import(string dump, string? flatViews, MtreeImportOptions? extra = null)
    {
        ArgumentNullException.ThrowIfNull(dump);
        var warnings = new List<string>();
        MtreeImportOptions options;
        if (flatViews is not null)
        {
            MtreeImportHintsResult hints = MtreeImportHints.Derive(dump, flatViews);
            options = Merge(hints.Options, extra);
            foreach (string d in hints.Differences)
            {
                warnings.Add($"still differs from QEMU's flat view: {d}");
            }
        }
        else
        {
            options = Merge(QemuKnownRegions.Qemu72, extra);
            MtreeDump parsed = MtreeDumpParser.Parse(new StringReader(dump));
            var undecided = parsed.Groups.Select(g => g.Root).Concat(parsed.Sections)
                .SelectMany(r => r.SelfAndDescendants())
                .Where(n => !n.IsAlias && n.Type == "i/o" && n.Children.Count > 0
                            && !options.Terminating.Contains(n.Name) && !QemuKnownRegions.Qemu72PureContainers.Contains(n.Name))
                .Select(n => n.Name)
                .Distinct(StringComparer.Ordinal)
                .ToList();
            if (undecided.Count > 0)
            {
                warnings.Add($"without QEMU's flat views ('info mtree -f'), these i/o regions with subregions could have callbacks of their own; " +
                             $"taken as pure containers: {string.Join(", ", undecided.Select(n => $"'{n}'"))} (give --terminating NAME, or the flat views)");
            }
        }
        return new QemuDumpImportResult(MtreeImporter.Import(dump, options), options, warnings);
    }

    private static MtreeImportOptions Merge(MtreeImportOptions a, MtreeImportOptions? b)
    {
        if (b is null)
        {
            return a;
        }
        static HashSet<string> Union(IReadOnlySet<string> x, IReadOnlySet<string> y) => new(x.Concat(y), StringComparer.Ordinal);
        return new MtreeImportOptions
        {
            Terminating = Union(a.Terminating, b.Terminating),
            Containers = Union(a.Containers, b.Containers),
            ReadOnly = Union(a.ReadOnly, b.ReadOnly),
            Empty = Union(a.Empty, b.Empty),
        };
    }
}

/// <summary>What <see cref="QemuDumpImport.Import"/> built.</summary>
/// <param name="System">The imported memory system.</param>
/// <param name="Options">The facts used.</param>
/// <param name="Warnings">What could not be decided, or still differs from QEMU's flat views.</param>
public sealed record QemuDumpImportResult(MemorySystem System, MtreeImportOptions Options, IReadOnlyList<string> Warnings);
