using System.Text.Json;
using System.Text.Json.Nodes;
using Memspace.Tests.Support;

namespace Memspace.Tests.Json;

/// <summary>
/// Every command's <c>--json</c> output matches docs/json/memspace.schema.json and says what the text
/// output says.
/// </summary>
public class JsonOutputTests
{
    private static JsonElement Run(params string[] args)
    {
        var (code, stdout, stderr) = CliProcess.Run(args);
        Assert.True(code == 0, $"memspace {string.Join(' ', args)} exited {code}: {stderr}");
        MemspaceSchema.AssertValid(stdout);
        JsonElement root = JsonDocument.Parse(stdout).RootElement.Clone();
        Assert.Equal("memspace/1", root.GetProperty("schema").GetString());
        return root;
    }

    [Fact]
    public void MtreeListsEveryRegionOfTheDisabledTree()
    {
        JsonElement doc = Run("mtree", "--machine", "q35", "--json");
        Assert.Equal("mtree", doc.GetProperty("kind").GetString());
        var (_, text, _) = CliProcess.Run("mtree", "--machine", "q35", "-D");
        // Every region line of '-D' is a region of the document (regions shared by trees print once).
        int lines = text.Split('\n').Count(l => l.StartsWith("  ", StringComparison.Ordinal));
        JsonElement[] regions = doc.GetProperty("regions").EnumerateArray().ToArray();
        Assert.InRange(regions.Length, 20, lines);
        // PAM has one 'pam-rom' alias per segment, all with the same path; the BIOS segment is at 0xf0000.
        JsonElement rom = regions.Single(r => r.GetProperty("path").GetString() == "system/pam-rom" && r.GetProperty("start").GetString() == "0xf0000");
        Assert.False(rom.GetProperty("enabled").GetBoolean());
        Assert.True(rom.GetProperty("readOnly").GetBoolean());
        Assert.Equal("pc.ram", rom.GetProperty("alias").GetProperty("targetName").GetString());
        Assert.Equal("0xf0000", rom.GetProperty("alias").GetProperty("offset").GetString());
    }

    [Fact]
    public void FlatViewsHaveTheRangesOfTheTextOutput()
    {
        JsonElement doc = Run("mtree", "--machine", "pc", "-m", "4G", "-f", "--json");
        Assert.Equal("flatview", doc.GetProperty("kind").GetString());
        var (_, text, _) = CliProcess.Run("mtree", "--machine", "pc", "-m", "4G", "-f");
        int textRanges = text.Split('\n').Count(l => l.StartsWith("  000", StringComparison.Ordinal));
        int jsonRanges = doc.GetProperty("views").EnumerateArray().Sum(v => v.GetProperty("ranges").GetArrayLength());
        Assert.Equal(textRanges, jsonRanges);
        JsonElement above = doc.GetProperty("views")[0].GetProperty("ranges").EnumerateArray().Single(r => r.GetProperty("start").GetString() == "0x100000000");
        Assert.Equal("pc.ram", above.GetProperty("region").GetString());
        Assert.Equal("0xc0000000", above.GetProperty("offsetInRegion").GetString());
        Assert.Equal("0x140000000", above.GetProperty("end").GetString());
    }

    [Fact]
    public void RamblockHasQemusBlocks()
    {
        JsonElement doc = Run("ramblock", "--machine", "q35", "-m", "8G", "--json");
        string[] names = doc.GetProperty("blocks").EnumerateArray().Select(b => b.GetProperty("name").GetString()!).ToArray();
        string qemu = QemuCorpus.Read("x86-q35-8G-nodefaults-S", "ramblock.txt");
        string[] qemuNames = qemu.Split('\n').Skip(1).Where(l => l.Length > 0).Select(l => l.Trim().Split(' ')[0]).ToArray();
        Assert.Equal(qemuNames, names);
        Assert.Equal("0x200000000", doc.GetProperty("blocks")[0].GetProperty("used").GetString());
    }

    [Fact]
    public void SlotsHaveTheIoctlsAndTheTable()
    {
        JsonElement doc = Run("slots", "--machine", "q35", "--simulate", "--json");
        Assert.True(doc.GetProperty("simulated").GetBoolean());
        Assert.Contains(doc.GetProperty("ioctls").EnumerateArray(),
            i => i.GetProperty("guestPhysAddr").GetString() == "0xfffc0000" && i.GetProperty("flags").GetInt32() == 2);
        JsonElement bios = doc.GetProperty("slots").EnumerateArray().Single(s => s.GetProperty("start").GetString() == "0xfffc0000" && s.GetProperty("asId").GetInt32() == 0);
        Assert.True(bios.GetProperty("readOnly").GetBoolean());
        Assert.Equal("pc.bios", bios.GetProperty("region").GetString());
    }

    [Fact]
    public void ExplainNamesTheServingRegionAndItsPath()
    {
        JsonElement doc = Run("explain", "0xf0010", "--machine", "q35", "--json");
        Assert.Equal("rom", doc.GetProperty("range").GetProperty("type").GetString());
        JsonElement serves = doc.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("role").GetString() == "serves");
        Assert.Equal("pc.bios", serves.GetProperty("region").GetString());
        Assert.Equal("0x30010", serves.GetProperty("offset").GetString());
        Assert.Equal("pc.bios", doc.GetProperty("ramBlock").GetProperty("name").GetString());
        Assert.Equal("0x30010", doc.GetProperty("ramBlock").GetProperty("blockOffset").GetString());
    }

    [Fact]
    public void RunGivesTheStructuresAndTypedEvents()
    {
        JsonElement doc = Run("run", "--accel", "kvm", "--json", "--timeout", "30");
        Assert.Equal("q35", doc.GetProperty("machine").GetString());
        JsonElement[] events = doc.GetProperty("events").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(1, events.Length).Select(i => (long)i), events.Select(e => e.GetProperty("sequence").GetInt64()));
        // The slot ioctls of the timeline are the slots document's ioctls, in order.
        string[] timelineIoctls = events.Where(e => e.GetProperty("type").GetString() == "slotIoctl")
            .Select(e => e.GetProperty("ioctl").GetProperty("guestPhysAddr").GetString()!).ToArray();
        string[] slotIoctls = doc.GetProperty("slots").GetProperty("ioctls").EnumerateArray().Select(i => i.GetProperty("guestPhysAddr").GetString()!).ToArray();
        Assert.NotEmpty(timelineIoctls);
        Assert.Equal(slotIoctls, timelineIoctls);
        Assert.Contains(events, e => e.GetProperty("type").GetString() == "section" && e.GetProperty("callback").GetString() == "region_add");
        Assert.Contains(events, e => e.GetProperty("type").GetString() == "commit");
        if (doc.GetProperty("guest").GetProperty("ran").GetBoolean())
        {
            Assert.Contains(events, e => e.GetProperty("type").GetString() == "vcpuExit");
        }
    }

    [Theory]
    [InlineData("schema", "\"memspace/2\"")]
    [InlineData("start", "4096")]
    [InlineData("kind", "\"mtree2\"")]
    [InlineData("extra", "1")]
    public void TheSchemaRejectsAMalformedDocument(string field, string value)
    {
        var (_, stdout, _) = CliProcess.Run("mtree", "--machine", "microvm", "-m", "128M", "-f", "--json");
        Assert.Null(MemspaceSchema.Errors(stdout));
        JsonNode doc = JsonNode.Parse(stdout)!;
        JsonObject target = field == "start"
            ? doc["views"]![0]!["ranges"]![0]!.AsObject()
            : doc.AsObject();
        target[field] = JsonNode.Parse(value);
        Assert.NotNull(MemspaceSchema.Errors(doc.ToJsonString()));
    }
}
