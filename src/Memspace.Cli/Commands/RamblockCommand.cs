using System.CommandLine;
using Memspace.Json;
using Memspace.Printing;

namespace Memspace.Cli.Commands;

/// <summary><c>memspace ramblock</c>: QEMU's <c>info ramblock</c> for a graph.</summary>
internal static class RamblockCommand
{
    public static Command Create()
    {
        var json = JsonOption.Create();
        var command = new Command("ramblock", "Print the RAMBlocks (RAMList order, ram_addr offsets), exactly as QEMU 7.2's 'info ramblock' does.")
        {
            json,
        };
        var source = new GraphSource();
        source.AddTo(command);
        command.SetAction(parse =>
        {
            using LoadedGraph graph = source.Load(parse);
            MemorySystem system = graph.System;
            if (parse.GetValue(json))
            {
                JsonOption.Write(parse.InvocationConfiguration.Output, MemspaceJson.RamBlocks(system.RamList));
            }
            else
            {
                RamBlockPrinter.Print(system.RamList, parse.InvocationConfiguration.Output);
            }
            return 0;
        });
        return command;
    }
}
