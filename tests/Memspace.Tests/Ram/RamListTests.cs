using System.Globalization;
using System.Text.RegularExpressions;
using Memspace.Printing;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Tests.Support;

namespace Memspace.Tests.Ram;

/// <summary>RAMList placement, order, ids, lookups and resizing (digest cases 42-46) and <c>info ramblock</c> against QEMU.</summary>
public partial class RamListTests
{
    private static MemorySystem Unbacked() => new(new MemorySystemOptions { AllocateRam = false });

    private static MemoryRegion Ram(MemorySystem s, string name, ulong size, ulong? max = null)
        => MemoryRegion.CreateRam(s, name, size, ram: new RamBlockOptions { MaxSize = max });

    [Fact]
    public void Case42_FindRamOffsetSequence()
    {
        using MemorySystem s = Unbacked();
        ulong[] offsets =
        [
            Ram(s, "pc.ram", 512UL << 20).RamAddr,
            Ram(s, "pc.bios", 256 << 10).RamAddr,
            Ram(s, "pc.rom", 128 << 10).RamAddr,
            Ram(s, "/rom@etc/acpi/tables", 128 << 10, max: 2 << 20).RamAddr,
            Ram(s, "/rom@etc/table-loader", 4 << 10, max: 64 << 10).RamAddr,
            Ram(s, "/rom@etc/acpi/rsdp", 4 << 10).RamAddr,
        ];
        Assert.Equal([0x0UL, 0x20000000, 0x20040000, 0x20080000, 0x20280000, 0x202c0000], offsets);
    }

    [Fact]
    public void Case43_BestFitNeverUsesTheGapBeforeTheFirstBlock()
    {
        using MemorySystem s = Unbacked();
        MemoryRegion a = Ram(s, "a", 1 << 20);
        MemoryRegion b = Ram(s, "b", 1 << 20);
        Ram(s, "c", 1 << 20);
        MemoryRegion d = Ram(s, "d", 4 << 20);
        Ram(s, "e", 1 << 20);
        Assert.Equal(0x300000UL, d.RamAddr);
        b.Destroy();
        d.Destroy();
        Assert.Equal(0x100000UL, s.RamList.FindRamOffset(512 << 10));
        Assert.Equal(0x100000UL, Ram(s, "f", 512 << 10).RamAddr);
        // Now the 1 MiB gap holds f; 768 KiB fits only the 4 MiB gap.
        Assert.Equal(0x300000UL, s.RamList.FindRamOffset(768 << 10));
        a.Destroy();
        Assert.NotEqual(0UL, s.RamList.FindRamOffset(512 << 10));
        Assert.Equal(0x180000UL, s.RamList.FindRamOffset(256 << 10));
    }

    [Fact]
    public void Case44_ListOrderIsMaxLengthDescendingThenCreation()
    {
        using MemorySystem s = Unbacked();
        Ram(s, "small1", 128 << 10);
        Ram(s, "big", 2 << 20);
        Ram(s, "small2", 128 << 10);
        Ram(s, "resizeable", 4 << 10, max: 1 << 20);
        Assert.Equal(["big", "resizeable", "small1", "small2"], s.RamList.Blocks.Select(b => b.IdStr));
    }

    [Fact]
    public void Case45_IdStrTakesTheDevicePathAndMustBeUnique()
    {
        using MemorySystem s = Unbacked();
        var vga = MemoryRegionOwner.Device("VGA", "/machine/peripheral-anon/device[0]", devicePath: "0000:00:02.0");
        MemoryRegion vram = MemoryRegion.CreateRam(s, "vga.vram", 16 << 20, vga);
        Assert.Equal("0000:00:02.0/vga.vram", vram.RamBlock!.IdStr);
        var ex = Assert.Throws<RamBlockException>(() => MemoryRegion.CreateRam(s, "vga.vram", 0x1000, vga));
        Assert.Contains("\"0000:00:02.0/vga.vram\" already registered", ex.Message);
        Assert.Single(s.RamList.Blocks);
        // An object owner, or no owner, gives the bare name; a block that is not migratable has no id.
        Assert.Equal("pc.ram", MemoryRegion.CreateRam(s, "pc.ram", 0x1000, MemoryRegionOwner.Object("memory-backend-ram", "/objects/pc.ram")).RamBlock!.IdStr);
        Assert.Equal("", MemoryRegion.CreateRam(s, "scratch", 0x1000, ram: new RamBlockOptions { Migratable = false }).RamBlock!.IdStr);
    }

    [Fact]
    public void Case46_ResizeRules()
    {
        using MemorySystem s = new();
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        MemoryRegion fixedRam = Ram(s, "fixed", 0x4000);
        var ex = Assert.Throws<RamBlockException>(() => fixedRam.RamResize(0x8000));
        Assert.Equal("Size mismatch: fixed: 0x8000 != 0x4000: Invalid argument", ex.Message);

        ulong resizedTo = 0;
        MemoryRegion tables = MemoryRegion.CreateRam(s, "tables", 0x20000, ram: new RamBlockOptions
        {
            MaxSize = 0x200000,
            Resized = (_, size) => resizedTo = size,
        });
        root.AddSubregion(0x100000, tables);
        ex = Assert.Throws<RamBlockException>(() => tables.RamResize(0x201000));
        Assert.Equal("Size too large: tables: 0x201000 > 0x200000: Invalid argument", ex.Message);

        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        RamBlock block = tables.RamBlock!;
        s.RamList.Dirty.ClearDirty(block.Offset, block.MaxLength);
        tables.RamResize(0x30800);
        Assert.Equal(0x31000UL, block.UsedLength);
        Assert.Equal((UInt128)0x30800, tables.Size);
        Assert.Equal(0x30800UL, resizedTo);
        Assert.Equal(["l:begin", "l:del tables [0x100000,0x120000)", "l:add tables [0x100000,0x130800)", "l:commit"], rec.Log);
        // Every page of the new size is dirty for every client.
        Assert.Equal(0x31UL, s.RamList.Dirty[DirtyMemoryClient.Migration].Count(block.Offset >> 12, 0x200));
        // Same aligned size: only the region size and the callback change.
        tables.RamResize(0x30900);
        Assert.Equal((UInt128)0x30900, tables.Size);
        Assert.Equal(0x30900UL, resizedTo);
        Assert.Throws<RamBlockException>(() => tables.SetSize(0x100000));
    }

    [Fact]
    public void Lookups()
    {
        using MemorySystem s = new();
        MemoryRegion a = Ram(s, "a", 0x10000);
        MemoryRegion b = Ram(s, "b", 0x4000, max: 0x8000);
        RamBlock bb = b.RamBlock!;
        Assert.Same(bb, s.RamList.LookupByRamAddr(bb.Offset + 0x7fff));
        Assert.Null(s.RamList.LookupByRamAddr(bb.Offset + 0x8000));
        Assert.Same(a.RamBlock, s.RamList.LookupByRamAddr(0x1234));
        Assert.Equal((bb, 0x10UL), s.RamList.LookupByHost(bb.Host + 0x10));
        Assert.Null(s.RamList.LookupByHost(1));
        Assert.Same(bb, s.RamList.LookupByIdStr("b"));
        Assert.Null(s.RamList.LookupByIdStr("c"));
        uint version = s.RamList.Version;
        b.Destroy();
        Assert.Null(s.RamList.LookupByIdStr("b"));
        Assert.True(s.RamList.Version > version);
        Assert.True(bb.IsFreed);
    }

    [GeneratedRegex(@"^(?<name>.*) (?<psize>\S+ \S*B)  0x(?<offset>[0-9a-f]{16}) 0x(?<used>[0-9a-f]{16}) 0x(?<total>[0-9a-f]{16})$")]
    private static partial Regex Row();

    public static TheoryData<string> RamblockCases() => new(QemuCorpus.CasesWith("ramblock.txt"));

    /// <summary>
    /// QEMU's blocks, created in the order QEMU allocated them (ascending offset, since nothing is
    /// freed at boot), get QEMU's offsets and print exactly as <c>info ramblock</c> did.
    /// </summary>
    [Theory]
    [MemberData(nameof(RamblockCases))]
    public void InfoRamblockMatchesQemu(string caseName)
    {
        string expected = QemuCorpus.Read(caseName, "ramblock.txt");
        var rows = expected.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => Row().Match(l))
            .Select(m =>
            {
                Assert.True(m.Success);
                return (Name: m.Groups["name"].Value.Trim(),
                        Offset: ulong.Parse(m.Groups["offset"].Value, NumberStyles.HexNumber),
                        Used: ulong.Parse(m.Groups["used"].Value, NumberStyles.HexNumber),
                        Total: ulong.Parse(m.Groups["total"].Value, NumberStyles.HexNumber));
            })
            .OrderBy(r => r.Offset)
            .ToList();
        Assert.NotEmpty(rows);
        // qemu-system-arm's boards use 1 KiB target pages, so blocks align to 64 KiB there.
        int pageBits = caseName.StartsWith("arm-mps2", StringComparison.Ordinal) || caseName.StartsWith("arm-vexpress", StringComparison.Ordinal) ? 10 : 12;
        using var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false, TargetPageBits = pageBits });
        foreach (var r in rows)
        {
            MemoryRegion mr = Ram(s, r.Name, r.Used, r.Used == r.Total ? null : r.Total);
            Assert.Equal(r.Offset, mr.RamAddr);
        }
        Assert.Equal(expected, RamBlockPrinter.ToText(s.RamList));
    }

    [Theory]
    [InlineData(4096UL, "4 KiB")]
    [InlineData(2UL << 20, "2 MiB")]
    [InlineData(1UL << 30, "1 GiB")]
    [InlineData(1536UL << 20, "1.5 GiB")]
    [InlineData(512UL, "512 B")]
    [InlineData(1000UL * 1024, "0.977 MiB")]
    public void SizeToStringMatchesQemu(ulong value, string text)
        => Assert.Equal(text, RamBlockPrinter.SizeToString(value));
}
