using System.CommandLine;
using Memspace.Import;

namespace Memspace.Cli.Commands;

/// <summary>
/// Where a command's memory graph comes from: the built-in example, or a QEMU <c>info mtree -D</c>
/// dump with the options that restore what the dump does not print.
/// </summary>
internal sealed class GraphSource
{
    private readonly Option<FileInfo?> _import = new("--import")
    {
        Description = "Load the graph from a QEMU 7.2 'info mtree -D' dump instead of the built-in example.",
    };

    private readonly Option<string[]> _terminating = new("--terminating")
    {
        Description = "An 'i/o' region with subregions that has callbacks of its own and fills its gaps (QEMU's 'io' root). Repeatable.",
    };

    private readonly Option<string[]> _container = new("--container")
    {
        Description = "An 'i/o' region without subregions that is an empty pure container (e.g. 'gpex_mmio'). Repeatable.",
    };

    private readonly Option<string[]> _readOnly = new("--readonly")
    {
        Description = "Regions of this name are read-only (e.g. PAM's 'pam-rom' aliases). Repeatable.",
    };

    private readonly Option<string[]> _empty = new("--empty")
    {
        Description = "Regions of this name printed as 'X-X' are empty rather than one byte long. Repeatable.",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_import);
        command.Options.Add(_terminating);
        command.Options.Add(_container);
        command.Options.Add(_readOnly);
        command.Options.Add(_empty);
    }

    /// <summary>Builds the graph, or writes why not to standard error and returns null.</summary>
    public MemorySystem? Load(ParseResult parse)
    {
        if (parse.GetValue(_import) is not { } file)
        {
            return ExampleGraph.Build();
        }
        var options = new MtreeImportOptions
        {
            Terminating = Set(parse.GetValue(_terminating)),
            Containers = Set(parse.GetValue(_container)),
            ReadOnly = Set(parse.GetValue(_readOnly)),
            Empty = Set(parse.GetValue(_empty)),
        };
        try
        {
            return MtreeImporter.ImportFile(file.FullName, options);
        }
        catch (Exception e) when (e is MtreeImportException or IOException or UnauthorizedAccessException)
        {
            parse.InvocationConfiguration.Error.WriteLine($"memspace: cannot import '{file}': {e.Message}");
            return null;
        }
    }

    private static HashSet<string> Set(string[]? names) => new(names ?? [], StringComparer.Ordinal);
}
