namespace Memspace.Tests.Support;

/// <summary>The committed QEMU 7.2 reference outputs (tests/Memspace.Tests/Data/qemu72).</summary>
internal static class QemuCorpus
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "tests", "Memspace.Tests", "Data", "qemu72");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/Memspace.Tests/Data/qemu72 not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every case directory that has the named file.</summary>
    public static IEnumerable<string> CasesWith(string file)
        => Directory.GetDirectories(Root)
            .Where(d => File.Exists(Path.Combine(d, file)))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)!;

    public static string Read(string caseName, string file) => File.ReadAllText(PathOf(caseName, file));

    public static string PathOf(string caseName, string file) => Path.Combine(Root, caseName, file);

    /// <summary>
    /// The blocks of an <c>info mtree</c> output (separated by empty lines), normalised for comparison
    /// as a set: QEMU prints groups and flat views in hash-table order, numbers flat views in that order,
    /// and lists a view's address spaces in creation order, which a dump does not record.
    /// </summary>
    public static List<string> Blocks(string text, bool dropAcceleratorMarkers = false)
    {
        var blocks = new List<string>();
        foreach (string raw in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = raw.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("FlatView #", StringComparison.Ordinal)).ToList();
            if (dropAcceleratorMarkers)
            {
                lines = lines.Select(l => l.EndsWith(" KVM", StringComparison.Ordinal) ? l[..^4] : l).ToList();
            }
            var spaces = lines.Where(l => l.StartsWith(" AS \"", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            var rest = lines.Where(l => !l.StartsWith(" AS \"", StringComparison.Ordinal));
            blocks.Add(string.Join("\n", spaces.Concat(rest)));
        }
        blocks.Sort(StringComparer.Ordinal);
        return blocks;
    }
}
