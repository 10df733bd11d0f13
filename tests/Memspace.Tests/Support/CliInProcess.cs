using Memspace.Cli;

namespace Memspace.Tests.Support;

/// <summary>Runs <c>memspace</c> in this process through <see cref="MemspaceCli.Run"/>, with its output captured.</summary>
internal static class CliInProcess
{
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = MemspaceCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
