using Memspace.Machines;
using Memspace.Machines.Devices;
using Memspace.Regions;

namespace Memspace.Tests.Devices;

/// <summary>The ISA devices pc and q35 share, exercised through their ports as a guest would.</summary>
public class IsaDeviceTests
{
    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    public void CmosHoldsMemorySizesAndRamBytes(string machine)
    {
        using var b = new PortBench(machine);
        b.Out8(0x70, 0x34);
        byte lo = b.In8(0x71);
        b.Out8(0x70, 0x35);
        byte hi = b.In8(0x71);
        Assert.Equal((512 - 16) * 16, lo | (hi << 8)); // 64 KiB units above 16 MiB
        b.Out8(0x70, 0x8f); // NMI masked, shutdown status
        b.Out8(0x71, 0x5a);
        Assert.True(b.Machine.Platform!.Rtc.NmiMasked);
        b.Out8(0x70, 0x0f);
        Assert.Equal(0x5a, b.In8(0x71));
        Assert.Equal(0xff, b.In8(0x70)); // the index port reads all ones
    }

    [Fact]
    public void RtcTimeIsBcdAndRegisterCClearsOnRead()
    {
        var system = new MemorySystem();
        var rtc = new Mc146818Rtc(system, () => new DateTime(2026, 12, 6, 17, 45, 39, DateTimeKind.Utc));
        Assert.Equal(0x39, rtc[0x00]);
        Assert.Equal(0x45, rtc[0x02]);
        Assert.Equal(0x17, rtc[0x04]);
        Assert.Equal(0x26, rtc[0x09]);
        Assert.Equal(0x20, rtc[0x32]);
        rtc[Mc146818Rtc.RegB] = 0x06; // binary, 24-hour
        Assert.Equal(39, rtc[0x00]);
        rtc[Mc146818Rtc.RegC] = 0xc0;
        var root = MemoryRegion.CreateContainer(system, "io", 0x10000);
        AddressSpace io = system.CreateAddressSpace(root, "I/O");
        rtc.Map(root);
        io.StoreU8(0x70, Mc146818Rtc.RegC, MemTxAttrs.UnspecifiedAttrs);
        Assert.Equal(0xc0, io.LoadU8(0x71, out _, MemTxAttrs.UnspecifiedAttrs));
        Assert.Equal(0, io.LoadU8(0x71, out _, MemTxAttrs.UnspecifiedAttrs));
    }

    [Fact]
    public void Port92KeepsA20AndAsksForResetOnBit0()
    {
        using var b = new PortBench("q35");
        int resets = 0;
        b.Machine.Platform!.Port92.ResetRequested += () => resets++;
        b.Out8(0x92, 0x02);
        Assert.True(b.Machine.Platform.Port92.A20);
        Assert.Equal(0x02, b.In8(0x92));
        b.Out8(0x92, 0x03);
        Assert.Equal(1, resets);
    }

    [Fact]
    public void KeyboardControllerPassesSelfTestAndTheKeyboardAnswersReset()
    {
        using var b = new PortBench("pc");
        Assert.Equal(0, b.In8(0x64) & 1);
        b.Out8(0x64, 0xaa);
        Assert.Equal(1, b.In8(0x64) & 1);
        Assert.Equal(0x55, b.In8(0x60));
        b.Out8(0x60, 0xff);
        Assert.Equal(0xfa, b.In8(0x60));
        Assert.Equal(0xaa, b.In8(0x60));
        b.Out8(0x64, 0x60);
        b.Out8(0x60, 0x61);
        b.Out8(0x64, 0x20);
        Assert.Equal(0x61, b.In8(0x60));
        int resets = 0;
        b.Machine.Platform!.Keyboard.ResetRequested += () => resets++;
        b.Out8(0x64, 0xfe);
        Assert.Equal(1, resets);
    }

    [Fact]
    public void PicTakesTheInitSequenceAndMask()
    {
        using var b = new PortBench("q35");
        foreach ((ushort port, byte v) in new (ushort, byte)[] { (0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0xa0, 0x11), (0xa1, 0x70), (0xa1, 0x02), (0xa1, 0x01), (0x21, 0xb8), (0xa1, 0x8e) })
        {
            b.Out8(port, v);
        }
        PcPlatform p = b.Machine.Platform!;
        Assert.Equal(0x08, p.PicMaster.VectorBase);
        Assert.Equal(0x70, p.PicSlave.VectorBase);
        Assert.Equal(0xb8, b.In8(0x21));
        Assert.Equal(0x8e, b.In8(0xa1));
        b.Out8(0x4d0, 0xff);
        b.Out8(0x4d1, 0x0c);
        Assert.Equal(0xf8, b.In8(0x4d0)); // IRQ 0-2 are always edge
        Assert.Equal(0x0c, b.In8(0x4d1));
        Assert.Equal("kvm-pic", p.PicMaster.Ports.Name);
    }

    [Fact]
    public void PitCountsDownFromTheReloadValue()
    {
        var system = new MemorySystem();
        long now = 0;
        var pit = new I8254Pit(system, inKernel: false, () => now);
        var root = MemoryRegion.CreateContainer(system, "io", 0x10000);
        AddressSpace io = system.CreateAddressSpace(root, "I/O");
        root.AddSubregion(0x40, pit.Region);
        var u = MemTxAttrs.UnspecifiedAttrs;
        io.StoreU8(0x43, 0x34, u); // channel 0, LSB then MSB, mode 2
        io.StoreU8(0x40, 0x00, u);
        io.StoreU8(0x40, 0x10, u);
        Assert.Equal(0x1000, pit.Reload(0));
        Assert.Equal(2, pit.Mode(0));
        now = 1_000_000; // 1 ms: 1193 ticks
        io.StoreU8(0x43, 0x00, u); // latch channel 0
        int count = io.LoadU8(0x40, out _, u) | (io.LoadU8(0x40, out _, u) << 8);
        Assert.Equal(0x1000 - 1193, count);
    }

    [Fact]
    public void SpeakerPortGatesChannel2AndTogglesRefresh()
    {
        using var b = new PortBench("pc");
        b.Out8(0x61, 0x03);
        Assert.True(b.Machine.Platform!.Pit.Channel2Gate);
        Assert.True(b.Machine.Platform.Speaker.SpeakerOn);
        Assert.NotEqual(b.In8(0x61) & 0x10, b.In8(0x61) & 0x10);
    }

    [Fact]
    public void DmaRegistersUseTheFlipFlopAndMask()
    {
        using var b = new PortBench("q35");
        b.Out8(0x0c, 0); // clear flip-flop
        b.Out8(0x02, 0x34);
        b.Out8(0x02, 0x12);
        b.Out8(0x0c, 0);
        Assert.Equal(0x34, b.In8(0x02));
        Assert.Equal(0x12, b.In8(0x02));
        b.Out8(0xd6, 0xc0); // controller 1 mode: channel 0 cascade
        Assert.Equal(0xc0, b.Machine.Platform!.Dma[1].Mode(0));
        b.Out8(0xd4, 0x00); // unmask channel 4
        Assert.Equal(0x0e, b.Machine.Platform.Dma[1].Mask);
        b.Out8(0x81, 0x7f);
        Assert.Equal(0x7f, b.In8(0x81));
    }

    [Fact]
    public void DebugConsoleReadsBackE9AndSplitsLines()
    {
        using var b = new PortBench("q35");
        var lines = new List<string>();
        b.Machine.Platform!.DebugConsole!.LineWritten += lines.Add;
        Assert.Equal(0xe9, b.In8(0x402));
        foreach (char c in "SeaBIOS\nNo bootable device.\n")
        {
            b.Out8(0x402, (byte)c);
        }
        Assert.Equal(["SeaBIOS", "No bootable device."], lines);
    }

    [Fact]
    public void PortsThatOnlyTakeWritesReadAllOnes()
    {
        using var b = new PortBench("pc");
        b.Out8(0x80, 0x42);
        Assert.Equal(0x42, b.Machine.Platform!.Port80.LastWritten);
        Assert.Equal(0xff, b.In8(0x80));
        Assert.Equal(0xff, b.In8(0xf0));
        Assert.Equal(0xffffffffu, b.In32(0x5658));
    }

    [Fact]
    public void FloppyControllerWithNoDriveRejectsCommands()
    {
        using var b = new PortBench("pc");
        b.Out8(0x3f2, 0x0c);
        Assert.Equal(0x80, b.In8(0x3f4));
        b.Out8(0x3f5, 0x08); // sense interrupt
        Assert.Equal(0xd0, b.In8(0x3f4));
        Assert.Equal(0x80, b.In8(0x3f5));
        Assert.Equal(0x0c, b.In8(0x3f2));
    }

    [Fact]
    public void IoApicStartsMaskedAndTakesRedirections()
    {
        using var b = new PortBench("q35");
        b.Mmio32(0xfec00000, 0x01);
        Assert.Equal(0x0017_0020u, b.Mmio32(0xfec00010));
        b.Mmio32(0xfec00000, 0x10);
        Assert.Equal(1u << 16, b.Mmio32(0xfec00010));
        b.Mmio32(0xfec00010, 0x0000_0030);
        Assert.Equal(0x30UL, b.Machine.Platform!.IoApic.Redirection(0));
    }

    [Fact]
    public void HpetReportsItsCapabilitiesAndRunsWhenEnabled()
    {
        using var b = new PortBench("pc");
        Assert.Equal(0x8086_a201u, b.Mmio32(0xfed00000));
        Assert.Equal(Hpet.PeriodFs, b.Mmio32(0xfed00004));
        b.Mmio32(0xfed00010, 1);
        Assert.True(b.Machine.Platform!.Hpet.Enabled);
    }

    [Fact]
    public void MsiWritesAreCounted()
    {
        using var b = new PortBench("q35");
        b.Mmio32(0xfee01000, 0x4041);
        Assert.Equal(1, b.Machine.Platform!.ApicMsi.Writes);
        Assert.Equal((0x1000UL, 0x4041u), b.Machine.Platform.ApicMsi.LastMessage);
    }
}
