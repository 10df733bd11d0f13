using System.Text.Json;
using System.Text.RegularExpressions;
using Memspace.Cli.Commands;
using Memspace.Cli.Map;
using Memspace.Import;
using Memspace.Inspection;
using Memspace.Machines;
using Memspace.Regions;
using Memspace.Rendering;
using Memspace.Tests.Support;

namespace Memspace.Tests.Cli;

/// <summary>The map page's data without a browser: its explanation templates give `explain`'s exact text, and hostile names stay text.</summary>
public partial class MapPageTests
{
    [GeneratedRegex("<script type=\"application/json\" id=\"map-data\">(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex DataScript();

    [Theory]
    [InlineData("q35", "512M")]
    [InlineData("pc", "4G")]
    [InlineData("microvm", "128M")]
    public void TemplatesGiveTheExplanationOfEveryAddressOfAMachine(string name, string size)
    {
        Assert.True(RamSize.TryParse(size, out ulong bytes, out _));
        using Machine machine = Machine.Create(name, new MachineOptions { RamSize = bytes });
        foreach (AddressSpace space in machine.System.AddressSpaces)
        {
            CheckTemplates(space, a => ExplainText.Format(AddressExplainer.Explain(space, a, machine.Kvm), simulatedKvm: true));
        }
    }

    [Theory]
    [InlineData("x86-q35-512M-nodefaults-run")]
    [InlineData("arm-virt-1G-pci-run")]
    public void TemplatesGiveTheExplanationOfEveryAddressOfAnImportedDump(string dump)
    {
        using MemorySystem system = MtreeImporter.ImportFile(Path.Combine(QemuCorpus.Root, dump, "mtree-D.txt"), new MtreeImportOptions
        {
            Terminating = new HashSet<string>(["io", "rtc", "vga.mmio", "gpex_mmio_window"], StringComparer.Ordinal),
        });
        foreach (AddressSpace space in system.AddressSpaces)
        {
            CheckTemplates(space, a => ExplainText.Format(AddressExplainer.Explain(space, a), simulatedKvm: false));
        }
    }

    [Fact]
    public void NamesFromADumpStayTextInThePage()
    {
        const string hostile = "</script><img src=x onerror=alert(1)>&\u0001 0x1f";
        using var system = new MemorySystem();
        var root = MemoryRegion.CreateContainer(system, "system", MemoryRegion.Size2To64);
        root.AddSubregion(0x1000, MemoryRegion.CreateRam(system, hostile, 0x1000));
        system.CreateAddressSpace(root, "memory");

        string html = MapPage.Build(system, "<b>" + hostile, kvm: null);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Matches(html, "</script>").Count);
        Assert.Equal(2, Regex.Matches(html, "<script").Count);
        using JsonDocument data = JsonDocument.Parse(DataScript().Match(html).Groups[1].Value);
        JsonElement memory = data.RootElement.GetProperty("spaces")[0];
        Assert.Equal(hostile, memory.GetProperty("ranges")[0].GetProperty("region").GetString());
        // Its explanations are templates like any other (a few intervals, not one per address).
        Assert.InRange(memory.GetProperty("explain").GetArrayLength(), 2, 10);
        Assert.Contains(memory.GetProperty("explain").EnumerateArray(), t => t[1].EnumerateArray().Any(p => p.GetString()!.Contains(hostile, StringComparison.Ordinal)));
    }

    [Fact]
    public void MapWritesOneSelfContainedPageAndSaysWhenItCannot()
    {
        string file = Path.Combine(Path.GetTempPath(), $"memspace-map-{Guid.NewGuid():n}.html");
        try
        {
            var (code, stdout, stderr) = CliProcess.Run("map", "--machine", "pc", "-m", "4G", "-o", file);
            Assert.True(code == 0, stderr);
            using (Machine pc = Machine.Create("pc", new MachineOptions { RamSize = 4UL << 30 }))
            {
                Assert.Contains($": {pc.System.AddressSpaces.Count} address spaces, ", stdout, StringComparison.Ordinal);
            }
            string html = File.ReadAllText(file);
            Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"(?i)\b(src|href)\s*=|https?://|<link|@import|url\(", html);
            Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
        var (bad, _, error) = CliProcess.Run("map", "--machine", "q35", "-o", "/nonexistent/dir/map.html");
        Assert.Equal(2, bad);
        Assert.Contains("cannot write '/nonexistent/dir/map.html'", error, StringComparison.Ordinal);
    }

    /// <summary>Every template start, the addresses next to each range edge and template start, and random addresses.</summary>
    private static void CheckTemplates(AddressSpace space, Func<ulong, string> explain)
    {
        List<ExplanationTemplate> table = ExplanationTable.Build(space, explain, []);
        Assert.Equal(0UL, table[0].Start);
        Assert.Equal(table.Select(t => t.Start).Order(), table.Select(t => t.Start));
        var probes = new HashSet<ulong> { ulong.MaxValue, 1UL << 32, (1UL << 32) - 1 };
        foreach (ExplanationTemplate t in table)
        {
            probes.UnionWith([t.Start, t.Start + 1, t.Start - 1, t.Start + 0x7ff]);
        }
        foreach (FlatRange r in space.CurrentMap.Ranges)
        {
            probes.UnionWith([r.Start, (ulong)(r.End - 1), (ulong)(r.Start + (r.Size / 2))]);
        }
        var random = new Random(16);
        for (int i = 0; i < 300; i++)
        {
            probes.Add(((ulong)random.NextInt64() << 1) | (uint)random.Next(2));
            probes.Add((ulong)random.NextInt64(0, 1L << 33));
        }
        foreach (ulong a in probes)
        {
            ExplanationTemplate t = table[table.FindLastIndex(x => x.Start <= a)];
            Assert.Equal(explain(a), t.Render(a));
        }
    }
}
