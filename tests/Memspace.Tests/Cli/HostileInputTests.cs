using System.Diagnostics;
using CsCheck;
using Memspace.Cli;
using Memspace.Tests.Support;

namespace Memspace.Tests.Cli;

/// <summary>
/// Every bad input a user can give the command line gets exit code 2 (bad input) or 1 (a failure
/// while working) and exactly one line on standard error, with no stack trace; commands run in this
/// process.
/// </summary>
public class HostileInputTests
{
    /// <summary>Asserts a failure: the exit code, nothing on stdout when asked, one stderr line with <paramref name="contains"/>.</summary>
    internal static void AssertRefused((int Code, string Out, string Err) r, int code, string contains, bool emptyStdout = true)
    {
        Assert.Equal(code, r.Code);
        if (emptyStdout)
        {
            Assert.Equal("", r.Out);
        }
        Assert.EndsWith("\n", r.Err);
        string[] lines = r.Err.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("memspace: ", lines[0]);
        Assert.Contains(contains, lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Theory]
    [InlineData(new[] { "mtree", "--nosuch" }, "--nosuch")]
    [InlineData(new[] { "nosuchcommand" }, "nosuchcommand")]
    [InlineData(new[] { "mtree", "-m", "8G" }, "-m")]
    [InlineData(new[] { "explain", "0x1000", "-m", "8G" }, "--memory applies only with --machine")]
    [InlineData(new[] { "mtree", "--terminating", "io" }, "--terminating applies only with --import")]
    [InlineData(new[] { "mtree", "--machine", "q35", "--readonly", "pam-rom" }, "--readonly applies to --import")]
    [InlineData(new[] { "mtree", "--machine", "q35", "-m", "1.5" }, "a fraction needs a unit")]
    [InlineData(new[] { "mtree", "--machine", "q35", "-m", "1.5B" }, "fraction")]
    [InlineData(new[] { "mtree", "--machine", "nosuch" }, "unknown machine")]
    [InlineData(new[] { "run", "--timeout", "-1" }, "bad --timeout -1")]
    [InlineData(new[] { "run", "--timeout", "NaN" }, "bad --timeout NaN")]
    [InlineData(new[] { "run", "--timeout", "Infinity" }, "bad --timeout Infinity")]
    [InlineData(new[] { "run", "--timeout", "1e9" }, "bad --timeout 1e9")]
    [InlineData(new[] { "run", "--timeout", "0" }, "bad --timeout 0")]
    [InlineData(new[] { "firmware", "-o", "/tmp/never-written.bin", "--size", "0" }, "bad --size '0'")]
    [InlineData(new[] { "explain", "0x1g" }, "bad address")]
    [InlineData(new[] { "mtree", "@/etc/passwd" }, "@/etc/passwd")]
    [InlineData(new[] { "slots" }, "--machine is required")]
    public void BadArgumentsAreRefusedWithExitCode2(string[] args, string contains)
        => AssertRefused(CliInProcess.Run(args), 2, contains);

    [Fact]
    public void AUnknownOptionPrintsNoHelp()
    {
        (int code, string stdout, string stderr) = CliInProcess.Run("--frobnicate");
        AssertRefused((code, stdout, stderr), 2, "--frobnicate");
    }

    [Fact]
    public void QemuSizesThatQemuAcceptsAreAccepted()
    {
        foreach (string size in new[] { "1.0", "1.5k", "512", "0.5G" })
        {
            Assert.True(Memspace.Machines.RamSize.TryParse(size, out _, out string? why), $"{size}: {why}");
        }
    }

    [Fact]
    public void DumpsThatAreNotFilesAreRefused()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            AssertRefused(CliInProcess.Run("mtree", "--import", dir), 2, "is a directory");
            AssertRefused(CliInProcess.Run("mtree", "--import", Path.Combine(dir, "missing")), 2, "no such file");
            AssertRefused(CliInProcess.Run("mtree", "--import", "/dev/zero"), 2, "/dev/zero:1: line longer than");
            AssertRefused(CliInProcess.Run("mtree", "--import", "/dev/null"), 2, "/dev/null: no 'address-space:' block");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ImportOptionsMustNameARegion()
    {
        string dump = QemuCorpus.PathOf("x86-q35-512M-nodefaults-S", "mtree-D.txt");
        AssertRefused(CliInProcess.Run("mtree", "--import", dump, "--terminating", "nosuch"), 2, "--terminating 'nosuch' matches no region");
        AssertRefused(CliInProcess.Run("mtree", "--import", dump, "--readonly", "nosuch"), 2, "--readonly 'nosuch' matches no region");
        (int code, string stdout, string stderr) = CliInProcess.Run("mtree", "--import", dump, "--readonly", "pam-rom", "-D");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal(File.ReadAllText(dump), stdout);
    }

    [Fact]
    public void TheExampleGraphIsLabelled()
    {
        (int code, string stdout, string stderr) = CliInProcess.Run("mtree");
        Assert.Equal(0, code);
        Assert.Contains("address-space:", stdout);
        Assert.Equal("memspace: no --machine or --import given: this is the built-in example graph\n", stderr);
    }

    [Fact]
    public void AFullOutputIsAFailureWithOneLine()
    {
        var full = new StreamWriter("/dev/full");
        var stderr = new StringWriter();
        int code = MemspaceCli.Run(["mtree", "--machine", "q35", "-D"], full, stderr);
        Assert.Throws<IOException>(full.Dispose); // what is left in its buffer cannot be written either
        AssertRefused((code, "", stderr.ToString()), 1, "cannot write the output: No space left on device");
        AssertRefused(CliInProcess.Run("firmware", "-o", "/dev/full"), 1, "cannot write '/dev/full': No space left on device");
    }

    [Fact]
    public void WithoutASecondKvmAddressSpaceTheSlotsSaySo()
    {
        (int code, string stdout, string stderr) = CliInProcess.Run("slots", "--machine", "q35", "--simulate", "--simulated-kvm-address-spaces", "1", "--table");
        Assert.Equal(0, code);
        Assert.Contains("no SMM slots", stderr);
        Assert.Contains("note: this KVM has 1 memory address space", stdout);
        Assert.DoesNotContain("kvm-smram", stdout.Split("note:")[0]);
        (code, stdout, stderr) = CliInProcess.Run("slots", "--machine", "q35", "--simulate", "--table");
        Assert.Equal(0, code);
        Assert.DoesNotContain("no SMM slots", stderr);
        Assert.DoesNotContain("note:", stdout);
        (code, stdout, _) = CliInProcess.Run("run", "--accel", "kvm", "--simulated-kvm-address-spaces", "1", "--no-timeline", "--kvm-device", "/nonexistent/kvm");
        Assert.Equal(0, code);
        Assert.Contains("note: this KVM has 1 memory address space", stdout);
    }

    private static readonly string[] s_words =
    [
        "run", "mtree", "ramblock", "slots", "explain", "firmware", "--machine", "-M", "q35", "pc", "microvm", "nosuch",
        "-m", "--memory", "512M", "1.5", "0", "-1", "1e9", "NaN", "8G", "99999999999T", "--import", "/dev/null", "/dev/zero",
        "/nonexistent", "/tmp", "--terminating", "--container", "--readonly", "--empty", "io", "-f", "-D", "-o", "--table",
        "--simulate", "--timeout", "--size", "64K", "0x1000", "--as", "I/O", "\u0000", "\u001b[31m", "--", "@x", "--help",
        "--no-smm", "--full-render", "--kvm-device", "--firmware", "--no-timeline", "-",
    ];

    [Fact]
    public void FuzzedArgumentsNeverCrash()
    {
        Gen.Frequency((5, Gen.Int[0, s_words.Length - 1].Select(i => s_words[i])), (1, Gen.String))
            .Array[0, 6]
            .Where(a => !a.Contains("run") && !(a.Contains("firmware") && a.Contains("-o")) && !a.Contains("--output"))
            .Sample(args =>
            {
                var watch = Stopwatch.StartNew();
                (int code, string stdout, string stderr) = CliInProcess.Run(args);
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "took " + watch.Elapsed);
                Assert.DoesNotContain("   at ", stderr);
                Assert.DoesNotContain("internal error", stderr);
                if (code != 0)
                {
                    Assert.InRange(code, 1, 2);
                    Assert.Single(stderr.TrimEnd('\n').Split('\n'));
                    Assert.StartsWith("memspace: ", stderr);
                }
            }, iter: 200);
    }
}
