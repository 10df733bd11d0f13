using System.CommandLine;
using Memspace.Cli.Commands;

var root = new RootCommand("Memspace: QEMU's memory API for .NET. Prints, explains and runs memory maps.")
{
    RunCommand.Create(),
    MtreeCommand.Create(),
    RamblockCommand.Create(),
    SlotsCommand.Create(),
    ExplainCommand.Create(),
    FirmwareCommand.Create(),
};
return root.Parse(args).Invoke();
