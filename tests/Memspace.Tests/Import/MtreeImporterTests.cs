using Memspace.Import;
using Memspace.Printing;
using Memspace.Regions;
using Memspace.Tests.Support;

namespace Memspace.Tests.Import;

/// <summary>The <c>info mtree -D</c> importer on small hand-written dumps, including malformed ones.</summary>
public class MtreeImporterTests
{
    private const string Small =
        "address-space: memory\n" +
        "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n" +
        "    0000000000000000-000000000009ffff (prio 0, ram): alias ram below @pc.ram 0000000000000000-000000000009ffff\n" +
        "    00000000000a0000-00000000000bffff (prio 1, i/o): vga lowmem [disabled]\n" +
        "    00000000000c0000-00000000000c0000 (prio 0, i/o): empty\n" +
        "    0000000010000000-000000001fffffff (prio 0, nv-ram): nvdimm\n" +
        "    0000000020000000-0000000020ffffff (prio 0, romd): flash\n" +
        "    0000000030000000-0000000030000fff (prio 0, ramd): bar\n" +
        "\n" +
        "address-space: I/O\n" +
        "  0000000000000000-000000000000ffff (prio 0, i/o): io\n" +
        "    0000000000000060-0000000000000060 (prio 0, i/o): i8042-data\n" +
        "\n" +
        "memory-region: pc.ram\n" +
        "  0000000000000000-0000000007ffffff (prio 0, ram): pc.ram\n" +
        "\n";

    [Fact]
    public void ImportsKindsFlagsAndNamesWithSpaces()
    {
        MemorySystem s = MtreeImporter.Import(Small, new MtreeImportOptions
        {
            Terminating = new HashSet<string> { "io" },
            Empty = new HashSet<string> { "empty" },
        });
        Assert.Equal(["memory", "I/O"], s.AddressSpaces.Select(a => a.Name));
        MemoryRegion system = s.AddressSpaces[0].Root;
        Assert.Equal(MemoryRegion.Size2To64, system.Size);
        Assert.Equal(MemoryRegionKind.Container, system.Kind);
        MemoryRegion alias = system.Subregions.Single(r => r.Name == "ram below");
        Assert.Equal("pc.ram", alias.AliasTarget!.Name);
        Assert.Equal((UInt128)0xa0000, alias.Size);
        Assert.False(system.Subregions.Single(r => r.Name == "vga lowmem").Enabled);
        Assert.Equal(UInt128.Zero, system.Subregions.Single(r => r.Name == "empty").Size);
        Assert.True(system.Subregions.Single(r => r.Name == "nvdimm").NonVolatile);
        Assert.True(system.Subregions.Single(r => r.Name == "flash").IsRomd);
        Assert.True(system.Subregions.Single(r => r.Name == "bar").IsRamDevice);
        MemoryRegion io = s.AddressSpaces[1].Root;
        Assert.Equal(MemoryRegionKind.Io, io.Kind);
        Assert.Equal((UInt128)1, io.Subregions[0].Size);
        Assert.Equal(Small, MtreePrinter.ToText(s, disabled: true));
    }

    [Fact]
    public void IoRegionsDefaultToContainerOrDevice()
    {
        MemorySystem s = MtreeImporter.Import(Small);
        Assert.Equal(MemoryRegionKind.Container, s.AddressSpaces[1].Root.Kind);
        Assert.Equal(MemoryRegionKind.Io, s.AddressSpaces[0].Root.Subregions.Single(r => r.Name == "empty").Kind);
        Assert.Equal((UInt128)1, s.AddressSpaces[0].Root.Subregions.Single(r => r.Name == "empty").Size);
        MemorySystem s2 = MtreeImporter.Import(Small, new MtreeImportOptions { Containers = new HashSet<string> { "empty" } });
        Assert.Equal(MemoryRegionKind.Container, s2.AddressSpaces[0].Root.Subregions.Single(r => r.Name == "empty").Kind);
    }

    [Fact]
    public void ReadOnlyOptionMakesAliasRangesRom()
    {
        MemorySystem s = MtreeImporter.Import(Small, new MtreeImportOptions { ReadOnly = new HashSet<string> { "ram below" } });
        string flat = FlatViewPrinter.ToText(s);
        Assert.Contains("  0000000000000000-000000000009ffff (prio 0, rom): pc.ram\n", flat);
    }

    [Fact]
    public void OwnerSuffixesAreIgnored()
    {
        string withOwners = Small.Replace("): system\n", "): system parent:{obj path=/machine/unattached}\n")
            .Replace("): nvdimm\n", "): nvdimm owner:{dev id=nv0}\n");
        MemorySystem s = MtreeImporter.Import(withOwners);
        Assert.Equal(Small, MtreePrinter.ToText(s, disabled: true));
    }

    [Fact]
    public void OverflowingRegionsKeepTheirSize()
    {
        string dump =
            "address-space: memory\n" +
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n" +
            "[DETECTED OVERFLOW!]     fffffffffffff000-0000000000000fff (prio 0, i/o): wraps\n" +
            "\n";
        MemorySystem s = MtreeImporter.Import(dump);
        Assert.Equal((UInt128)0x2000, s.AddressSpaces[0].Root.Subregions[0].Size);
        Assert.Equal(dump, MtreePrinter.ToText(s, disabled: true));
    }

    [Theory]
    [InlineData("", 0, "no 'address-space:' block")]
    [InlineData("FlatView #0\n AS \"memory\", root: system\n", 1, "info mtree -f")]
    [InlineData("address-space: memory\n  garbage\n", 2, "expected 'address-space: NAME'")]
    [InlineData("address-space: memory\n   0000000000000000-ffffffffffffffff (prio 0, i/o): system\n", 2, "even number")]
    [InlineData("address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n      0000000000000000-0000000000000fff (prio 0, i/o): orphan\n", 3, "info mtree -D")]
    [InlineData("address-space: memory\n\n", 2, "has no region tree")]
    [InlineData("  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n", 1, "outside a block")]
    [InlineData("address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n  0000000000000000-ffffffffffffffff (prio 0, i/o): second\n", 3, "second top-level region")]
    [InlineData("address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n    0000000000000000-0000000000000fff (prio 0, ram): alias a @nowhere 0000000000000000-0000000000000fff\n", 3, "no 'memory-region: nowhere' section")]
    [InlineData("address-space: memory\n  0000000000000000-ffffffffffffffff (prio 99999999999, i/o): system\n", 2, "32-bit integer")]
    [InlineData("address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\nmemory-region: x\n", 3, "empty line before 'memory-region:'")]
    public void MalformedDumpsNameTheLineAndTheProblem(string text, int line, string expected)
    {
        var ex = Assert.Throws<MtreeImportException>(() => MtreeImporter.Import(text));
        Assert.Equal(line, ex.LineNumber);
        Assert.Contains(expected, ex.Message);
        if (line > 0)
        {
            Assert.StartsWith($"line {line}: ", ex.Message);
        }
    }

    [Fact]
    public void CliImportsAndPrints()
    {
        string path = Path.Combine(QemuCorpus.Root, "x86-pc-512M-nodefaults-S", "mtree-D.txt");
        var (code, stdout, stderr) = CliProcess.Run("mtree", "--import", path, "-D");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Equal(File.ReadAllText(path), stdout);

        (code, stdout, _) = CliProcess.Run("mtree", "--import", path, "-f", "--terminating", "io", "--terminating", "rtc", "--readonly", "pam-rom");
        Assert.Equal(0, code);
        Assert.Equal(
            QemuCorpus.Blocks(QemuCorpus.Read("x86-pc-512M-nodefaults-S", "mtree-f.txt")),
            QemuCorpus.Blocks(stdout));
    }

    [Fact]
    public void CliReportsABadDumpWithoutAStackTrace()
    {
        string bad = Path.GetTempFileName();
        try
        {
            File.WriteAllText(bad, "address-space: memory\n  nonsense\n");
            var (code, stdout, stderr) = CliProcess.Run("mtree", "--import", bad);
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Contains($"{bad}:2: expected", stderr);
            Assert.DoesNotContain("   at ", stderr);
            (code, _, stderr) = CliProcess.Run("mtree", "--import", bad + ".missing");
            Assert.Equal(2, code);
            Assert.Contains("no such file", stderr);
        }
        finally
        {
            File.Delete(bad);
        }
    }
}
