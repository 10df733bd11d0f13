using System.Diagnostics;
using Memspace.Import;
using Memspace.Tests.Support;

namespace Memspace.Tests.Import;

/// <summary>
/// Import from where users have dumps: a QEMU 7.2 '-monitor stdio' transcript as recorded by
/// tools/qemu-reference/record-transcript.sh, standard input, and a live QEMU over QMP.
/// </summary>
public class DumpSourceTests
{
    private static string TranscriptPath => Path.Combine(RepositoryFiles.PathOf("tests/Memspace.Tests/Data/transcripts"), "q35-512M-monitor-stdio.txt");

    [Fact]
    public void RedrawAppliesReadlineEscapes()
    {
        Assert.Equal("(qemu) info", MonitorTranscript.Redraw("(qemu) i\x1b[K\x1b[Din\x1b[K\x1b[D\x1b[Dinf\x1b[K\x1b[D\x1b[D\x1b[Dinfo\x1b[K\r"));
        Assert.Equal("abXd", MonitorTranscript.Redraw("abcd\x1b[2DX"));
        Assert.Equal("ab", MonitorTranscript.Redraw("abcd\b\b\x1b[K"));
        Assert.Equal("plain", MonitorTranscript.Redraw("plain"));
    }

    [Fact]
    public void TheTranscriptHoldsBothCommandsAndNoEscapes()
    {
        MonitorTranscript t = MonitorTranscript.Parse(File.ReadAllText(TranscriptPath));
        Assert.True(t.HadPrompt);
        Assert.Equal(["info mtree -D", "info mtree -f", "quit"], t.Commands.Select(c => c.Command));
        string dump = t.MtreeOutput("-D")!;
        Assert.StartsWith("address-space: ", dump, StringComparison.Ordinal);
        Assert.DoesNotContain('\x1b', dump);
        Assert.DoesNotContain('\r', dump);
        Assert.StartsWith("FlatView #0", t.MtreeOutput("-f"), StringComparison.Ordinal);
    }

    [Fact]
    public void APastedTranscriptImportsWithoutOptionsAndReproducesQemu()
    {
        MonitorTranscript t = MonitorTranscript.Parse(File.ReadAllText(TranscriptPath));
        var (code, stdout, stderr) = CliProcess.Run("mtree", "--import", TranscriptPath, "-D");
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Equal(t.MtreeOutput("-D"), stdout);
        (code, stdout, stderr) = CliProcess.Run("mtree", "--import", TranscriptPath, "-f");
        Assert.True(code == 0, stderr);
        Assert.Equal(string.Join("\n\n", QemuCorpus.Blocks(t.MtreeOutput("-f")!)), string.Join("\n\n", QemuCorpus.Blocks(stdout)));
    }

    [Fact]
    public void StandardInputIsRead()
    {
        string dump = QemuCorpus.Read("x86-q35-512M-firmware-run", "mtree-D.txt");
        var (code, stdout, stderr) = CliProcess.RunWithInput(dump, "mtree", "--import", "-", "-f");
        Assert.True(code == 0, stderr);
        // Without flat views QEMU 7.2's known devices decide: this q35 needs nothing else.
        Assert.Equal("", stderr);
        Assert.Equal(
            string.Join("\n\n", QemuCorpus.Blocks(QemuCorpus.Read("x86-q35-512M-firmware-run", "mtree-f.txt"), dropAcceleratorMarkers: true)),
            string.Join("\n\n", QemuCorpus.Blocks(stdout)));
    }

    [Fact]
    public void WithoutFlatViewsUndecidedRegionsAreNamed()
    {
        const string dump = "address-space: memory\n" +
                            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n" +
                            "    0000000010000000-0000000010000fff (prio 0, i/o): mystery-bridge\n" +
                            "      0000000010000000-00000000100000ff (prio 0, i/o): mystery-regs\n\n";
        var (code, _, stderr) = CliProcess.RunWithInput(dump, "mtree", "--import", "-", "-f");
        Assert.Equal(0, code);
        Assert.Contains("warning", stderr, StringComparison.Ordinal);
        Assert.Contains("'mystery-bridge'", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("'system'", stderr, StringComparison.Ordinal);
        (code, _, stderr) = CliProcess.RunWithInput(dump, "mtree", "--import", "-", "-f", "--terminating", "mystery-bridge");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
    }

    [Fact]
    public void ATranscriptWithoutTheDumpIsRefused()
    {
        var (code, _, stderr) = CliProcess.RunWithInput("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) info pci\r\n  Bus  0\r\n(qemu) quit\r\n", "mtree", "--import", "-");
        Assert.Equal(2, code);
        Assert.Contains("no 'info mtree -D' output", stderr, StringComparison.Ordinal);
        Assert.Contains("'info pci'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ALiveQemuIsQueriedOverQmp()
    {
        string? qemu = FindQemu();
        if (qemu is null)
        {
            Assert.Skip("needs QEMU: qemu-system-x86_64 is not installed");
        }
        string dir = Directory.CreateTempSubdirectory("memspace-qmp").FullName;
        string socket = Path.Combine(dir, "qmp.sock");
        using var process = Process.Start(new ProcessStartInfo(qemu)
        {
            ArgumentList = { "-M", "q35", "-m", "512M", "-nodefaults", "-accel", "tcg", "-display", "none", "-serial", "none", "-monitor", "none", "-S",
                             "-qmp", $"unix:{socket},server=on,wait=off" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            string qemuFlat;
            string qemuDump;
            using (QmpMonitor monitor = ConnectWhenListening(socket, TimeSpan.FromSeconds(30)))
            {
                qemuDump = monitor.HumanMonitorCommand("info mtree -D");
                qemuFlat = monitor.HumanMonitorCommand("info mtree -f");
            }
            var (code, stdout, stderr) = CliProcess.Run("mtree", "--qmp", socket, "-D");
            Assert.True(code == 0, stderr);
            Assert.Equal("", stderr);
            Assert.Equal(qemuDump, stdout);
            (code, stdout, stderr) = CliProcess.Run("mtree", "--qmp", socket, "-f");
            Assert.True(code == 0, stderr);
            Assert.Equal(string.Join("\n\n", QemuCorpus.Blocks(qemuFlat, dropAcceleratorMarkers: true)), string.Join("\n\n", QemuCorpus.Blocks(stdout)));
        }
        finally
        {
            process.Kill();
            process.WaitForExit();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ASocketWithoutQemuIsABadInput()
    {
        var (code, _, stderr) = CliProcess.Run("mtree", "--qmp", "/nonexistent/qmp.sock");
        Assert.Equal(2, code);
        Assert.Contains("cannot connect to QMP socket '/nonexistent/qmp.sock'", stderr, StringComparison.Ordinal);
    }

    private static string? FindQemu()
        => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "qemu-system-x86_64")).FirstOrDefault(File.Exists);

    /// <summary>QEMU creates the socket file (bind) a moment before it listens: retry refused connections until <paramref name="timeout"/>.</summary>
    private static QmpMonitor ConnectWhenListening(string socket, TimeSpan timeout)
    {
        QmpMonitor? monitor = null;
        QmpException? last = null;
        SpinWait.SpinUntil(() =>
        {
            try
            {
                monitor = QmpMonitor.Connect(socket, TimeSpan.FromSeconds(10));
                return true;
            }
            catch (QmpException e)
            {
                last = e;
                return false;
            }
        }, timeout);
        return monitor ?? throw new InvalidOperationException($"QEMU did not listen on {socket} within {timeout.TotalSeconds} s: {last?.Message}");
    }
}
