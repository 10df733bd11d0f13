using Memspace.Inspection;
using Memspace.Machines;
using Memspace.Machines.Devices;
using Memspace.Regions;
using Memspace.Tracing;

namespace Memspace.Tests.Machines;

public class MachineTests
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    [Theory]
    [InlineData("512", 512UL << 20)]
    [InlineData("512M", 512UL << 20)]
    [InlineData("512m", 512UL << 20)]
    [InlineData("1.5G", 3UL << 29)]
    [InlineData("8G", 8UL << 30)]
    [InlineData("1T", 1UL << 40)]
    [InlineData("4k", 8192)]
    [InlineData("0x2000", 8UL << 30)]           // hex is MiB too; "0x2000B" would be 0x2000b MiB, as in QEMU
    [InlineData("8192B", 8192)]
    [InlineData("100B", 8192)]
    public void RamSizesParseAsQemuTakesThem(string text, ulong bytes) => Assert.Equal(bytes, RamSize.Parse(text));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("abc", "must start with a number")]
    [InlineData("12X", "unknown suffix")]
    [InlineData("12MB", "unknown suffix")]
    [InlineData("-1", "must start with a number")]
    [InlineData("99999999999999999999", "too large")]
    [InlineData("1.5B", "fraction")]
    public void BadRamSizesSayWhy(string text, string why)
    {
        Assert.False(RamSize.TryParse(text, out _, out string? error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownMachineNamesTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => Machine.Create("virt"));
        Assert.Contains("pc, q35, microvm", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FirmwareMustBeWholeMultiplesOf64KiB()
    {
        var e = Assert.Throws<ArgumentException>(() => Machine.Create("pc", new MachineOptions { Firmware = new byte[1000] }));
        Assert.Contains("multiple of 64 KiB", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pc", 0x59)]
    [InlineData("q35", 0x90)]
    public void GuestPamWritesReprogramTheMapAndTheKvmSlots(string name, int pamRegister)
    {
        using var m = (X86Machine)Machine.Create(name);
        FlatRangeAt(m, 0xf0000, "pc.bios", ro: true);
        // The firmware's shadowing sequence: RAM, copy, read-only.
        FirmwareState.WriteConfig(m, pamRegister, 0x30, 1);
        FlatRangeAt(m, 0xf0000, "pc.ram", ro: false);
        Assert.Contains(m.Kvm!.MemoryListener.Slots, s => s.StartAddr <= 0xf0000 && s.StartAddr + s.MemorySize >= 0x100000 && !s.ReadOnly);
        Assert.Equal(MemTxResult.Ok, m.Memory.StoreU32Le(0xf0000, 0x11223344, U));
        FirmwareState.WriteConfig(m, pamRegister, 0x10, 1);
        FlatRangeAt(m, 0xf0000, "pc.ram", ro: true);
        Assert.Contains(m.Kvm.MemoryListener.Slots, s => s.StartAddr == 0xf0000 && s.MemorySize == 0x10000 && s.ReadOnly);
        m.Memory.StoreU32Le(0xf0000, 0xdeadbeef, U);
        Assert.Equal(0x11223344u, m.Memory.LoadU32Le(0xf0000, out _, U));
        var host = m.HostBridge!;
        Assert.Equal(0x10u, host.ReadConfig(pamRegister, 1) & 0xf0u);
    }

    [Fact]
    public void Q35TsegHidesTheTopOfLowRamBehindTheBlackhole()
    {
        using var m = (Q35Machine)Machine.Create("q35", new MachineOptions { RamSize = 512UL << 20 });
        ulong below = m.BelowFourGiB;
        FirmwareState.WriteConfig(m, MchHostBridge.EsmramcRegister, 0x38 | 0x1 | (0x1 << 1), 1); // T_EN, 2 MiB
        FirmwareState.WriteConfig(m, MchHostBridge.SmramRegister, 0x02 | 0x08, 1);                 // G_SMRAME
        FlatRangeAt(m, below - (2 << 20), "tseg-blackhole", ro: false);
        Assert.Equal(0xffffffffu, m.Memory.LoadU32Le(below - 16, out _, U));
        Assert.DoesNotContain(m.Kvm!.MemoryListener.Slots, s => s.StartAddr + s.MemorySize > below - (2 << 20) && s.StartAddr < below);
        // SMM still sees the RAM there, through tseg-window.
        Assert.NotNull(m.SmramSpace);
        Assert.Equal("pc.ram", m.SmramSpace!.CurrentMap.Lookup(below - 16)!.Value.Region.Name);
    }

    [Fact]
    public void Q35PciexbarMapsEcamThatReachesTheHostBridge()
    {
        using var m = (Q35Machine)Machine.Create("q35");
        Assert.Null(m.Memory.CurrentMap.Lookup(0xb0000000));
        FirmwareState.WriteConfig(m, MchHostBridge.PciexbarRegister, 0xb0000001, 4);
        Assert.Equal(0x29c08086u, m.Memory.LoadU32Le(0xb0000000, out MemTxResult r, U));
        Assert.Equal(MemTxResult.Ok, r);
        Assert.Equal(0xffffffffu, m.Memory.LoadU32Le(0xb0008000, out _, U)); // 00:01.0 is absent
    }

    [Fact]
    public void SerialDemoDeviceAndUnassignedPortsBehave()
    {
        using var m = (X86Machine)Machine.Create("microvm");
        var sent = new List<byte>();
        m.Serial!.Transmitted += sent.Add;
        foreach (char c in "hi")
        {
            m.Io.Write(0x3f8, [(byte)c]);
        }
        Assert.Equal("hi", m.Serial.Output);
        Assert.Equal("hi"u8.ToArray(), sent);
        var lsr = new byte[1];
        m.Io.Read(0x3fd, lsr);
        Assert.Equal(0x60, lsr[0]);
        Assert.Equal(DemoDevice.Id, m.Memory.LoadU32Le(DemoDevice.DefaultAddress, out _, U));
        m.Memory.StoreU32Le(DemoDevice.DefaultAddress + 4, 0xcafe, U);
        Assert.Equal(0xcafeu, m.Memory.LoadU32Le(DemoDevice.DefaultAddress + 4, out _, U));
        Assert.Equal(1u, m.Memory.LoadU32Le(DemoDevice.DefaultAddress + 8, out _, U));
        Assert.Equal(2u, m.Memory.LoadU32Le(DemoDevice.DefaultAddress + 8, out _, U));
        m.Memory.StoreU32Le(DemoDevice.DefaultAddress + 0xc, 7, U);
        Assert.Equal([7u], m.Demo!.Doorbells);
        var port = new byte[2];
        Assert.Equal(MemTxResult.Ok, m.Io.Read(0x1234, port));
        Assert.Equal([0xff, 0xff], port);
    }

    [Fact]
    public void TimelineShowsTheChainInQemuOrder()
    {
        var timeline = new ChainTimeline();
        using var m = Machine.Create("q35", new MachineOptions { Timeline = timeline });
        IReadOnlyList<ChainEvent> events = timeline.Events;
        int Index(Func<ChainEvent, bool> p) => events.ToList().FindIndex(e => p(e));
        int kvmInit = Index(e => e.Structure == ChainStructure.KVMSlot && e.Text.StartsWith("kvm_init", StringComparison.Ordinal));
        int firstBlock = Index(e => e.Structure == ChainStructure.RAMBlock);
        int firstIoctl = Index(e => e.Structure == ChainStructure.KvmUserspaceMemoryRegion);
        int firstAdd = Index(e => e.Structure == ChainStructure.MemoryRegionSection && e.Source == "memory" && e.Text.StartsWith("region_add", StringComparison.Ordinal));
        int done = Index(e => e.Text == "machine init done");
        int smmSlot = Index(e => e.Structure == ChainStructure.KvmUserspaceMemoryRegion && e.Text.Contains("Slot#65536", StringComparison.Ordinal));
        Assert.True(kvmInit >= 0 && kvmInit < firstBlock, "the accelerator's listeners are registered before the board creates RAM");
        Assert.True(firstAdd < firstIoctl, "a slot ioctl follows the region_add that asked for it");
        Assert.True(done < smmSlot, "SMM slots appear when the kvm-smram listener registers at machine-init-done");
        Assert.Contains(events, e => e.Structure == ChainStructure.FlatView);
        Assert.Contains(events, e => e.Structure == ChainStructure.MemoryRegion && e.Text.Contains("'pam-ram'", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Structure == ChainStructure.Device && e.Text.StartsWith("PAM register", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Structure == ChainStructure.AddressSpace && e.Text.Contains("KVM-SMRAM", StringComparison.Ordinal));
    }

    [Fact]
    public void ExplainFollowsAliasesAndNamesWhatIsHidden()
    {
        using var m = (X86Machine)Machine.Create("q35");
        AddressExplanation x = AddressExplainer.Explain(m.Memory, 0xf0010, m.Kvm);
        Assert.Equal("pc.bios", x.Range!.Value.Region.Name);
        RegionStep serves = Assert.Single(x.Steps, s => s.Role == RegionRole.Serves);
        Assert.Equal(("pc.bios", 0x30010UL), (serves.Region.Name, serves.Offset));
        Assert.Contains(x.Steps, s => s.Region.Name == "isa-bios" && s.Role == RegionRole.Path);
        Assert.Contains(x.Steps, s => s.Region.Name == "pam-ram" && s.Role == RegionRole.Hidden && s.Note == "disabled");
        Assert.Contains(x.Steps, s => s.Region.Name == "ram-below-4g" && s.Role == RegionRole.Hidden);
        Assert.Equal(("pc.bios", 0x30010UL), (x.Block!.IdStr, x.BlockOffset));
        Assert.True(x.Slot!.ReadOnly);
        Assert.Equal(0xe0000UL, x.Slot.StartAddr);

        AddressExplanation hole = AddressExplainer.Explain(m.Memory, 0xfe100000, m.Kvm);
        Assert.Null(hole.Range);
        Assert.Null(hole.Block);
        Assert.Null(hole.Slot);
        Assert.DoesNotContain(hole.Steps, s => s.Role == RegionRole.Serves);
    }

    [Fact]
    public void SmmAddressSpaceSeesSmramOnlyWhenTheChipsetOpensIt()
    {
        using var m = (Q35Machine)Machine.Create("q35");
        FirmwareState.WriteConfig(m, MchHostBridge.SmramRegister, 0x02 | 0x08, 1); // G_SMRAME: smram-low for SMM
        AddressExplanation x = AddressExplainer.Explain(m.SmramSpace!, 0xa0000, m.Kvm);
        Assert.Contains(x.Steps, s => s.Region.Name == "smram-low" && s.Role == RegionRole.Path);
        Assert.Equal(1, x.Slot!.AsId);
    }

    [Fact]
    public void WithoutAcceleratorThereAreNoSlotsAndNoSmmSpace()
    {
        using var m = (X86Machine)Machine.Create("pc", new MachineOptions { Accelerator = MachineAccelerator.None });
        Assert.Null(m.Kvm);
        Assert.Null(m.SmramSpace);
        Assert.Throws<Memspace.Kvm.KvmUnavailableException>(() => m.CreateVcpu());
    }

    private static void FlatRangeAt(Machine m, ulong address, string region, bool ro)
    {
        var range = m.Memory.CurrentMap.Lookup(address);
        Assert.NotNull(range);
        Assert.Equal(region, range.Value.Region.Name);
        Assert.Equal(ro, range.Value.ReadOnly || range.Value.Region.ReadOnly);
    }
}
