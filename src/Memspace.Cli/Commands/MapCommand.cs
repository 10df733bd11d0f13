using System.CommandLine;
using Memspace.Cli.Map;

namespace Memspace.Cli.Commands;

/// <summary>
/// <c>memspace map [--machine NAME [-m SIZE] | --import DUMP ...] -o map.html</c>: writes the memory
/// map as one self-contained HTML page (lanes of flat ranges, the region tree, explain on hover).
/// </summary>
internal static class MapCommand
{
    public static Command Create()
    {
        var output = new Option<FileInfo>("--output", "-o") { Description = "The HTML file to write.", Required = true };
        var command = new Command("map", "Write the memory map as one self-contained HTML page: each address space's flat ranges by kind, the region tree, and 'explain' for any address.")
        {
            output,
        };
        var source = new GraphSource();
        source.AddTo(command);
        command.SetAction(parse =>
        {
            using LoadedGraph graph = source.Load(parse);
            string title = graph.Machine is { } m
                ? $"{m.Name} ({m.Description}), {Machines.RamSize.Format(m.Options.RamSize)} RAM"
                : parse.GetValue(source.ImportOption) is { } dump ? $"QEMU dump {(dump == "-" ? "from standard input" : Path.GetFileName(dump))}" : "built-in example graph";
            string html;
            try
            {
                html = MapPage.Build(graph.System, title, graph.Machine?.Kvm);
            }
            catch (InvalidOperationException e)
            {
                throw CliError.Input($"cannot build the map: {e.Message}");
            }
            FileInfo file = parse.GetValue(output)!;
            try
            {
                File.WriteAllText(file.FullName, html);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CliError.Output(file.ToString(), e);
            }
            parse.InvocationConfiguration.Output.WriteLine(
                $"wrote {file.FullName}: {graph.System.AddressSpaces.Count} address spaces, {graph.System.AddressSpaces.Sum(s => s.CurrentMap.Count)} flat ranges");
            return 0;
        });
        return command;
    }
}
