using System.CommandLine;
using System.CommandLine.Help;
using Memspace.Cli.Commands;

// The root is named 'memspace' (not the assembly's name), so usage says 'memspace' however it is
// started: 'dotnet run', the installed tool, or the NativeAOT binary.
var root = new Command("memspace", "Memspace: QEMU's memory API for .NET. Prints, explains, compares and runs memory maps.\n" +
                                   "Exit codes: 0 ok, 1 runtime or guest failure (or, for diff, the maps differ), 2 bad input.")
{
    new HelpOption(),
    new VersionOption(),
    RunCommand.Create(),
    MtreeCommand.Create(),
    RamblockCommand.Create(),
    SlotsCommand.Create(),
    ExplainCommand.Create(),
    MapCommand.Create(),
    DiffCommand.Create(),
    FirmwareCommand.Create(),
};
ParseResult parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
{
    // Bad input: one line per problem on standard error, exit 2; help is for --help.
    foreach (System.CommandLine.Parsing.ParseError error in parse.Errors)
    {
        Console.Error.WriteLine($"memspace: {error.Message}");
    }
    return 2;
}
return parse.Invoke();
