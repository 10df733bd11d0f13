using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Text;
using Memspace.Cli.Commands;
using Memspace.Core;
using Memspace.Import;

namespace Memspace.Cli;

/// <summary>
/// The command line as a function: parses, runs the command, and turns every failure into one line
/// on standard error and an exit code: 0 done, 1 a failure while working (the guest, the output, the
/// host), 2 bad input (an option, a value, a file). Notes a command writes to standard error (for
/// example that KVM is missing) are printed only when it succeeds, so a failure is exactly one line.
/// </summary>
internal static class MemspaceCli
{
    /// <summary>Runs the command line <paramref name="args"/> with the given output and error writers.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        // The root is named 'memspace' (not the assembly's name), so usage says 'memspace' however it
        // is started: 'dotnet run', the installed tool, or the NativeAOT binary.
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
        var notes = new StringWriter();
        int code;
        try
        {
            // Response files ('@file') are off: an argument is what it says.
            ParseResult parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
            if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
            {
                // The most specific error first: a token nobody recognised says more than "required command".
                ParseError first = parse.Errors.FirstOrDefault(e => e.Message.Contains('\'', StringComparison.Ordinal)) ?? parse.Errors[0];
                throw CliError.Input($"{first.Message} (see 'memspace --help')");
            }
            code = parse.Invoke(new InvocationConfiguration
            {
                Output = output,
                Error = notes,
                EnableDefaultExceptionHandler = false,
            });
            output.Flush();
        }
        catch (Exception e)
        {
            (int exit, string message) = Describe(e);
            error.WriteLine($"memspace: {OneLine(message)}");
            error.Flush();
            return exit;
        }
        error.Write(notes.ToString());
        error.Flush();
        return code;
    }

    /// <summary>The exit code and message for a failure.</summary>
    private static (int Exit, string Message) Describe(Exception e) => e switch
    {
        CliError c => (c.ExitCode, c.Message),
        MtreeImportException m => (CliError.BadInput, m.Message),
        IOException io => (CliError.Failure, $"cannot write the output: {IoReason(io)}"),
        MemspaceException m => (CliError.Failure, m.Message),
        _ => (CliError.Failure, $"internal error ({e.GetType().Name}): {e.Message}"),
    };

    /// <summary>The OS's reason without the path .NET appends (" : '/dev/full'").</summary>
    private static string IoReason(IOException e)
    {
        string m = e.Message;
        int at = m.IndexOf(" : '", StringComparison.Ordinal);
        return at > 0 ? m[..at] : m;
    }

    /// <summary>Makes a message one printable line: control characters (from a dump or an argument) are escaped.</summary>
    internal static string OneLine(string message)
    {
        var sb = new StringBuilder(message.Length);
        foreach (char c in message)
        {
            if (char.IsControl(c))
            {
                sb.Append(c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : $"\\x{(int)c:x2}");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
