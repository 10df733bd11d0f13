using System.Diagnostics;

namespace Memspace.Tests.Support;

/// <summary>Runs the built <c>memspace</c> command (Memspace.Cli.dll next to the tests) as a process.</summary>
internal static class CliProcess
{
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) => RunWithInput(null, args);

    /// <summary>Runs the command with <paramref name="input"/> on its standard input (null: none).</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunWithInput(string? input, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Memspace.Cli.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        if (input is not null)
        {
            p.StandardInput.Write(input);
            p.StandardInput.Close();
        }
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("memspace " + string.Join(' ', args) + " did not finish in 2 minutes");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
