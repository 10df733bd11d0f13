using System.CommandLine;
using Memspace.Import;
using Memspace.Printing;

namespace Memspace.Cli.Commands;

/// <summary><c>memspace mtree</c>: QEMU's <c>info mtree</c> for a graph.</summary>
internal static class MtreeCommand
{
    public static Command Create()
    {
        var flat = new Option<bool>("--flatview", "-f") { Description = "Print the rendered flat views (info mtree -f)." };
        var disabled = new Option<bool>("--disabled", "-D") { Description = "Also print disabled regions (info mtree -D)." };
        var owner = new Option<bool>("--owner", "-o") { Description = "Print region owners (info mtree -o)." };
        var import = new Option<FileInfo?>("--import")
        {
            Description = "Load the graph from a QEMU 7.2 'info mtree -D' dump instead of the built-in example.",
        };
        var terminating = new Option<string[]>("--terminating")
        {
            Description = "An 'i/o' region with subregions that has callbacks of its own and fills its gaps (QEMU's 'io' root). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var container = new Option<string[]>("--container")
        {
            Description = "An 'i/o' region without subregions that is an empty pure container (e.g. 'gpex_mmio'). Repeatable.",
        };
        var readOnly = new Option<string[]>("--readonly")
        {
            Description = "Regions of this name are read-only (e.g. PAM's 'pam-rom' aliases). Repeatable.",
        };
        var empty = new Option<string[]>("--empty")
        {
            Description = "Regions of this name printed as 'X-X' are empty rather than one byte long. Repeatable.",
        };
        var command = new Command("mtree", "Print the memory region tree or its flat views, exactly as QEMU 7.2's 'info mtree' does.")
        {
            flat, disabled, owner, import, terminating, container, readOnly, empty,
        };
        command.SetAction(parse =>
        {
            TextWriter output = parse.InvocationConfiguration.Output;
            MemorySystem system;
            if (parse.GetValue(import) is { } file)
            {
                var options = new MtreeImportOptions
                {
                    Terminating = Set(parse.GetValue(terminating)),
                    Containers = Set(parse.GetValue(container)),
                    ReadOnly = Set(parse.GetValue(readOnly)),
                    Empty = Set(parse.GetValue(empty)),
                };
                try
                {
                    system = MtreeImporter.ImportFile(file.FullName, options);
                }
                catch (Exception e) when (e is MtreeImportException or IOException or UnauthorizedAccessException)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"memspace: cannot import '{file}': {e.Message}");
                    return 2;
                }
            }
            else
            {
                system = ExampleGraph.Build();
            }
            if (parse.GetValue(flat))
            {
                FlatViewPrinter.Print(system, output, parse.GetValue(owner));
            }
            else
            {
                MtreePrinter.Print(system, output, parse.GetValue(owner), parse.GetValue(disabled));
            }
            return 0;
        });
        return command;
    }

    private static HashSet<string> Set(string[]? names) => new(names ?? [], StringComparer.Ordinal);
}
