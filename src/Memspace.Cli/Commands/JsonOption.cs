using System.CommandLine;

namespace Memspace.Cli.Commands;

/// <summary>The <c>--json</c> option every printing command takes: one document of schema memspace/1 instead of text.</summary>
internal static class JsonOption
{
    public static Option<bool> Create() => new("--json")
    {
        Description = "Print one JSON document (schema memspace/1, see docs/json) instead of text.",
    };

    /// <summary>Writes a document followed by a newline.</summary>
    public static void Write(TextWriter output, string json)
    {
        output.Write(json);
        output.Write('\n');
    }
}
