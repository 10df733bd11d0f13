using System.Net;
using System.Net.Sockets;
using Memspace.Tests.Support;

namespace Memspace.Tests.Migration;

/// <summary><c>memspace run</c> with --incoming/--migrate in two processes, and --snapshot-on-exit/--restore.</summary>
[Collection(nameof(Memspace.Tests.Kvm.KvmLive))]
public sealed class MigrationCommandLineTests
{
    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public async Task TwoProcessesMigrateTheBuiltInGuest()
    {
        KvmGuest.RequireKvm();
        int port = FreePort();
        string address = $"tcp:127.0.0.1:{port}";
        Task<(int ExitCode, string Stdout, string Stderr)> destination = Task.Run(() => CliProcess.Run("run", "-M", "q35", "-m", "64M", "--incoming", address, "--timeout", "5"));
        (int ExitCode, string Stdout, string Stderr) source = default;
        // Until the destination listens, a source's connection is refused: run the source again until it is not.
        SpinWait.SpinUntil(() =>
        {
            source = CliProcess.Run("run", "-M", "q35", "-m", "64M", "--migrate", address, "--migrate-after", "0.2", "--timeout", "5");
            return source.ExitCode == 0 || !source.Stdout.Contains("refused", StringComparison.OrdinalIgnoreCase);
        }, TimeSpan.FromSeconds(30));
        (int ExitCode, string Stdout, string Stderr) dest = await destination;
        Assert.True(source.ExitCode == 0, source.Stdout + source.Stderr);
        Assert.Contains("migrate: round 0:", source.Stdout, StringComparison.Ordinal);
        Assert.Contains("migrate: done in", source.Stdout, StringComparison.Ordinal);
        Assert.Contains("source stopped", source.Stdout, StringComparison.Ordinal);
        Assert.True(dest.ExitCode == 0, dest.Stdout + dest.Stderr);
        Assert.Contains("incoming: guest running", dest.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void ASourceWhoseDestinationIsGoneKeepsRunning()
    {
        KvmGuest.RequireKvm();
        (int code, string stdout, string stderr) = CliInProcess.Run("run", "-M", "microvm", "-m", "16M", "--migrate", $"tcp:127.0.0.1:{FreePort()}", "--migrate-after", "0.1", "--timeout", "2");
        Assert.Equal(1, code);
        Assert.Contains("the guest keeps running here", stdout, StringComparison.Ordinal);
        Assert.Contains("migration failed", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void SnapshotOnExitThenRestore()
    {
        KvmGuest.RequireKvm();
        string dir = Path.Combine(Path.GetTempPath(), "memspace-cli-snapshot-" + Guid.NewGuid().ToString("N"));
        try
        {
            (int code, string stdout, string stderr) = CliInProcess.Run("run", "-M", "pc", "-m", "32M", "--snapshot-on-exit", dir, "--timeout", "5");
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("snapshot: " + dir, stdout, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dir, "manifest.json")));
            (code, stdout, stderr) = CliInProcess.Run("run", "--restore", dir, "--verify-snapshot", "--timeout", "2");
            Assert.True(code == 0, stdout + stderr);
            Assert.Contains("restore: running after", stdout, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "state.bin"), "damaged");
            (code, _, stderr) = CliInProcess.Run("run", "--restore", dir, "--timeout", "2");
            Assert.Equal(2, code);
            Assert.Contains("state.bin is 7 bytes", stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Theory]
    [InlineData("--migrate-after", "-1", "bad --migrate-after")]
    [InlineData("--downtime-limit", "-5", "bad --downtime-limit")]
    [InlineData("--max-rounds", "-2", "bad --max-rounds")]
    [InlineData("--max-bandwidth", "fast", "bad --max-bandwidth")]
    [InlineData("--incoming", "udp:1.2.3.4:5", "bad address 'udp:1.2.3.4:5'")]
    public void BadMigrationOptionsAreBadInput(string option, string value, string message)
    {
        // Checked before any VM is created: runs with or without KVM.
        string[] args = option == "--incoming"
            ? ["run", "-M", "microvm", "-m", "16M", option, value, "--timeout", "1"]
            : ["run", "-M", "microvm", "-m", "16M", "--migrate", "tcp:127.0.0.1:1", option, value, "--timeout", "1"];
        (int code, _, string stderr) = CliInProcess.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }
}
