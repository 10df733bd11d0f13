using System.CommandLine;
using Memspace.Json;
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
        var json = JsonOption.Create();
        var command = new Command("mtree", "Print the memory region tree or its flat views, exactly as QEMU 7.2's 'info mtree' does.")
        {
            flat, disabled, owner, json,
        };
        var source = new GraphSource();
        source.AddTo(command);
        command.SetAction(parse =>
        {
            using LoadedGraph graph = source.Load(parse);
            MemorySystem system = graph.System;
            TextWriter output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
            {
                JsonOption.Write(output, parse.GetValue(flat) ? MemspaceJson.FlatViews(system) : MemspaceJson.Mtree(system));
            }
            else if (parse.GetValue(flat))
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
}
