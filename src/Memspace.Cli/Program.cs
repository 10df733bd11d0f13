using System.CommandLine;
using Memspace.Cli.Commands;

var root = new RootCommand("Memspace: QEMU's memory API for .NET. Prints, explains and runs memory maps.")
{
    MtreeCommand.Create(),
    RamblockCommand.Create(),
};
return root.Parse(args).Invoke();
