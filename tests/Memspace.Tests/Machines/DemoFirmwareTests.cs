using System.Diagnostics;
using Memspace.Cli.Guest;

namespace Memspace.Tests.Machines;

/// <summary>
/// The built-in guest of <c>memspace run</c> checked on QEMU 7.2 itself (TCG), which implements the
/// same PAM and ROM rules: what the guest prints there is what a correct machine must make it print.
/// </summary>
public class DemoFirmwareTests
{
    [Theory]
    [InlineData("q35", "0x29c08086")]
    [InlineData("pc", "0x12378086")]
    [InlineData("microvm", "0xffffffff")]
    public void GuestRunsToTheEndOnQemu(string machine, string hostBridgeId)
    {
        string? qemu = FindQemu();
        if (qemu is null)
        {
            Assert.Skip("needs qemu-system-x86_64 (apt-get install qemu-system-x86) to run the guest on QEMU itself");
        }
        string dir = Directory.CreateTempSubdirectory("memspace-fw").FullName;
        try
        {
            string image = Path.Combine(dir, "demo.bin");
            File.WriteAllBytes(image, DemoFirmware.Build(machine == "microvm" ? 64 * 1024 : 256 * 1024));
            var psi = new ProcessStartInfo(qemu) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string a in new[] { "-M", machine, "-m", "512M", "-nodefaults", "-display", "none", "-accel", "tcg", "-bios", image, "-serial", "stdio", "-monitor", "none" })
            {
                psi.ArgumentList.Add(a);
            }
            var serial = new System.Text.StringBuilder();
            using var done = new ManualResetEventSlim(false);
            using Process p = new() { StartInfo = psi };
            p.OutputDataReceived += (_, e) =>
            {
                lock (serial)
                {
                    serial.AppendLine(e.Data);
                }
                if (e.Data is null || e.Data.Contains(DemoFirmware.DoneLine, StringComparison.Ordinal))
                {
                    done.Set(); // the guest finished, or QEMU exited
                }
            };
            p.Start();
            p.BeginOutputReadLine();
            try
            {
                done.Wait(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            }
            finally
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }
            string output;
            lock (serial)
            {
                output = serial.ToString();
            }
            Assert.Contains(DemoFirmware.DoneLine, output, StringComparison.Ordinal);
            Assert.Contains("RAM ok", output, StringComparison.Ordinal);
            Assert.Contains("PCI 00:00.0 id " + hostBridgeId, output, StringComparison.Ordinal);
            if (machine == "microvm")
            {
                Assert.Contains("pc.bios is RAM on this machine", output, StringComparison.Ordinal);
                Assert.Contains("no PAM on this machine", output, StringComparison.Ordinal);
            }
            else
            {
                Assert.Contains($"ROM write ignored, pc.bios still holds 0x{DemoFirmware.MarkerValue:x8}", output, StringComparison.Ordinal);
                Assert.Contains($"PAM shadowed the BIOS at 0xf0000 read-only, write ignored, holds 0x{DemoFirmware.MarkerValue:x8}", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ImageEndsWithTheResetVectorAndHasTheRequestedSize()
    {
        byte[] image = DemoFirmware.Build(128 * 1024);
        Assert.Equal(128 * 1024, image.Length);
        Assert.Equal(0xe9, image[^16]);                  // jmp near at 0xfffffff0
        Assert.Equal(DemoFirmware.MarkerValue, BitConverter.ToUInt32(image, image.Length - 0x10000 + (int)DemoFirmware.MarkerOffset));
        Assert.Throws<ArgumentOutOfRangeException>(() => DemoFirmware.Build(1000));
    }

    private static string? FindQemu()
        => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "qemu-system-x86_64")).FirstOrDefault(File.Exists);
}
