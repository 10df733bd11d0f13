using Memspace.Machines.Firmware;
using Memspace.Tests.Support;

namespace Memspace.Tests.Cli;

/// <summary><c>--firmware</c> on the commands that show a machine.</summary>
public class FirmwareCommandLineTests
{
    [Fact]
    public void MtreeWithFirmwareBuildsQemusNodefaultsBoardAndSaysWhenItCannotRunIt()
    {
        if (!File.Exists(SeaBios.DebianImage))
        {
            Assert.Skip($"needs Debian's seabios package ({SeaBios.DebianImage})");
        }
        var (code, stdout, stderr) = CliProcess.Run("mtree", "--machine", "q35", "--firmware", "seabios");
        Assert.Equal(0, code);
        Assert.Contains("isa-debugcon", stdout, StringComparison.Ordinal);
        Assert.Contains("kvm-ioapic", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("serial", stdout, StringComparison.Ordinal);
        if (!Memspace.Kvm.KvmVm.IsAvailable(out _))
        {
            Assert.Contains("firmware not run: /dev/kvm", stderr, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("firmware reached \"No bootable device\"", stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AnUnreadableFirmwareIsAOneLineError()
    {
        var (code, _, stderr) = CliProcess.Run("ramblock", "--machine", "pc", "--firmware", "/nonexistent/bios.bin");
        Assert.Equal(2, code);
        Assert.StartsWith("memspace: cannot read firmware '/nonexistent/bios.bin': ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
