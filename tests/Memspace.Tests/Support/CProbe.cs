using System.Diagnostics;

namespace Memspace.Tests.Support;

/// <summary>
/// Compiles a small C program with gcc and runs it, for tests that check Memspace's copies of ABI
/// facts (struct layouts, constants) against the system headers. Reports the test skipped, with the
/// package to install, when gcc is missing.
/// </summary>
internal static class CProbe
{
    /// <summary>The standard output of <paramref name="program"/>, compiled and run.</summary>
    public static string Run(string program, string name)
    {
        string dir = Directory.CreateTempSubdirectory("memspace-" + name).FullName;
        try
        {
            string source = Path.Combine(dir, name + ".c");
            string exe = Path.Combine(dir, name);
            File.WriteAllText(source, program);
            (int rc, string output) = Start("gcc", $"-o {exe} {source}");
            if (rc == -1)
            {
                Assert.Skip("needs gcc to compile the header probe (Debian package gcc)");
            }
            Assert.True(rc == 0, "gcc failed: " + output);
            (rc, output) = Start(exe, "");
            Assert.Equal(0, rc);
            return output;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (int, string) Start(string file, string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, "");
        }
    }
}
