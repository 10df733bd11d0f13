using Memspace.Tests.Support;

namespace Memspace.Tests.Cli;

/// <summary><c>memspace run --guest dirty</c>: its options refused when unusable, and a short live run that verifies.</summary>
[Collection(nameof(Kvm.KvmLive))]
public class DirtyGuestCommandTests
{
    [Theory]
    [InlineData(new[] { "run", "--guest", "nosuch" }, "nosuch")]
    [InlineData(new[] { "run", "--guest", "dirty", "--dirty-size", "0" }, "bad --dirty-size")]
    [InlineData(new[] { "run", "--guest", "dirty", "--dirty-size", "64G" }, "bad --dirty-size")]
    [InlineData(new[] { "run", "--guest", "dirty", "--dirty-rate", "-1" }, "bad --dirty-rate")]
    [InlineData(new[] { "run", "--guest", "dirty", "--dirty-rate", "NaN" }, "bad --dirty-rate")]
    [InlineData(new[] { "run", "--guest", "dirty", "--run-for", "0" }, "bad --run-for")]
    [InlineData(new[] { "run", "--guest", "dirty", "-m", "32M", "--dirty-size", "64M", "--no-timeline" }, "too small for --dirty-size")]
    public void BadDirtyOptionsAreRefused(string[] args, string contains)
    {
        (int code, string _, string err) = CliInProcess.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(contains, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Theory]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void ShortRunPrintsAVerifyLine(string machine)
    {
        KvmGuest.RequireKvm();
        (int code, string output, string err) = CliInProcess.Run("run", "-M", machine, "--guest", "dirty", "--dirty-size", "8M", "--dirty-rate", "20000", "--run-for", "0.5", "--no-timeline");
        Assert.True(code == 0, output + err);
        Assert.Matches(@"VERIFY ok=True writes=\d+ pages=2048", output);
        Assert.Contains("dirty: ring 3 reached", output);
    }
}
