using System.Text.Json;
using Memspace.Tests.Support;

namespace Memspace.Tests.Diff;

/// <summary><c>memspace diff A B</c>: equal maps, a before/after change, QEMU's dump against Memspace's q35, and bad inputs.</summary>
public class DiffCommandTests
{
    private static string Case(string name) => Path.Combine(QemuCorpus.Root, name, "mtree-D.txt");

    [Fact]
    public void EqualMapsExitZero()
    {
        var (code, stdout, stderr) = CliProcess.Run("diff", Case("x86-q35-512M-nodefaults-S"), Case("x86-q35-512M-nodefaults-S"));
        Assert.True(code == 0, stderr + stdout);
        Assert.EndsWith("no differences\n", stdout, StringComparison.Ordinal);
        (code, stdout, stderr) = CliProcess.Run("diff", "machine:pc:1G", "machine:pc:1G", "--json");
        Assert.True(code == 0, stderr + stdout);
        MemspaceSchema.AssertValid(stdout);
        Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("equal").GetBoolean());
    }

    [Fact]
    public void BeforeAndAfterFirmwareShowsThePamChanges()
    {
        // q35 at reset and after SeaBIOS: the BIOS shadow moves into RAM, PAM segments switch.
        var (code, stdout, stderr) = CliProcess.Run("diff", Case("x86-q35-512M-nodefaults-S"), Case("x86-q35-512M-nodefaults-run"));
        Assert.True(code == 1, stderr + stdout);
        Assert.Contains("address space \"memory\":", stdout, StringComparison.Ordinal);
        Assert.Contains("  - [0xe0000, 0x100000) rom 'pc.bios' @0x20000", stdout, StringComparison.Ordinal);
        Assert.Contains("  ~ system/pam-rom @0xf0000: enabled false -> true", stdout, StringComparison.Ordinal);
        (code, stdout, _) = CliProcess.Run("diff", Case("x86-q35-512M-nodefaults-S"), Case("x86-q35-512M-nodefaults-run"), "--json");
        Assert.Equal(1, code);
        MemspaceSchema.AssertValid(stdout);
        JsonElement doc = JsonDocument.Parse(stdout).RootElement;
        Assert.False(doc.GetProperty("equal").GetBoolean());
        JsonElement memory = doc.GetProperty("addressSpaces").EnumerateArray().First(s => s.GetProperty("name").GetString() == "memory");
        Assert.Contains(memory.GetProperty("removed").EnumerateArray(), r => r.GetProperty("region").GetString() == "pc.bios" && r.GetProperty("start").GetString() == "0xe0000");
        Assert.Contains(memory.GetProperty("added").EnumerateArray(), r => r.GetProperty("region").GetString() == "pc.ram" && r.GetProperty("type").GetString() == "rom");
    }

    [Fact]
    public void QemusDumpAgainstMemspacesQ35NamesWhereTheyDiffer()
    {
        var (code, stdout, stderr) = CliProcess.Run("diff", Case("x86-q35-512M-nodefaults-S"), "machine:q35:512M");
        Assert.True(code == 1, stderr + stdout);
        // QEMU under TCG has a cpu-smm-0 address space, Memspace's KVM board the KVM-SMRAM one.
        Assert.Contains("address space \"cpu-smm-0\" (only in A):", stdout, StringComparison.Ordinal);
        Assert.Contains("address space \"KVM-SMRAM\" (only in B):", stdout, StringComparison.Ordinal);
        // In "memory": Memspace's own demo device, and the KVM irqchip's names for the same ranges.
        string memory = string.Join("\n", stdout.Split('\n').SkipWhile(l => l != "address space \"memory\":").Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)));
        Assert.Contains("  + [0xfe000000, 0xfe001000) i/o 'memspace-demo'", memory, StringComparison.Ordinal);
        Assert.Contains("  ~ [0xfec00000, 0xfec01000) i/o 'ioapic'  ->  [0xfec00000, 0xfec01000) i/o 'kvm-ioapic'", memory, StringComparison.Ordinal);
        // The RAM, firmware and devices the two share are not reported.
        Assert.DoesNotContain("'pc.ram'", memory, StringComparison.Ordinal);
        Assert.DoesNotContain("'pc.bios'", memory, StringComparison.Ordinal);
        Assert.DoesNotContain("'hpet'", memory, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "diff", "/nonexistent/a.txt", "machine:q35" }, "cannot import '/nonexistent/a.txt'")]
    [InlineData(new[] { "diff", "machine:virt", "machine:q35" }, "bad map 'machine:virt'")]
    [InlineData(new[] { "diff", "machine:q35:12X", "machine:q35" }, "bad size")]
    [InlineData(new[] { "diff", "-", "-" }, "only one side")]
    [InlineData(new[] { "diff", "qmp:/nonexistent/qmp.sock", "machine:q35" }, "cannot connect to QMP socket")]
    [InlineData(new[] { "diff", "machine:q35" }, "memspace: ")]
    public void BadInputExitsTwo(string[] args, string message)
    {
        var (code, stdout, stderr) = CliProcess.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void AMalformedDumpExitsTwoWithItsLine()
    {
        var (code, _, stderr) = CliProcess.RunWithInput("address-space: memory\n  garbage\n", "diff", "-", "machine:q35");
        Assert.Equal(2, code);
        Assert.Contains("line 2", stderr, StringComparison.Ordinal);
    }
}
