using Memspace.Machines;
using Memspace.Machines.Devices;

namespace Memspace.Tests.Devices;

/// <summary>The PCI core and the southbridge functions, through configuration mechanism #1 and MMCONFIG.</summary>
public class PciDeviceTests
{
    [Theory]
    [InlineData("pc", new[] { 0x00, 0x08, 0x09, 0x0b }, new[] { 0x12378086u, 0x70008086u, 0x70108086u, 0x71138086u })]
    [InlineData("q35", new[] { 0x00, 0xf8, 0xfa, 0xfb }, new[] { 0x29c08086u, 0x29188086u, 0x29228086u, 0x29308086u })]
    public void EveryFunctionAnswersWithItsIdsAndQemusSubsystem(string machine, int[] devfns, uint[] ids)
    {
        using var b = new PortBench(machine);
        for (int i = 0; i < devfns.Length; i++)
        {
            Assert.Equal(ids[i], b.Config(devfns[i], 0));
            Assert.Equal(0x1100_1af4u, b.Config(devfns[i], 0x2c));
        }
        Assert.Equal(0xffffffffu, b.Config(0x10, 0)); // nothing at 00:02.0
        b.Config(0x10, 0x04, 0x7, 2);                 // ignored
    }

    [Fact]
    public void BarsMapOnlyWhileDecodingIsEnabledAndSizeLikeHardware()
    {
        using var b = new PortBench("q35");
        var q35 = (Q35Machine)b.Machine;
        b.Config(0xfa, 0x24, 0xffffffff, 4);
        Assert.Equal(0xfffff000u, b.Config(0xfa, 0x24));   // 4 KiB memory BAR
        b.Config(0xfa, 0x20, 0xffffffff, 4);
        Assert.Equal(0xffffffe1u, b.Config(0xfa, 0x20));   // 32-byte I/O BAR
        b.Config(0xfa, 0x24, 0xfebff000, 4);
        Assert.Equal(PciBar.Unmapped, q35.Ahci!.Bars[5]!.Address);
        b.Config(0xfa, 0x04, 0x0002, 2);
        Assert.Equal(0xfebff000UL, q35.Ahci.Bars[5]!.Address);
        Assert.Equal(0x8000_0000u | (31u << 8), b.Mmio32(0xfebff000) & 0x8000_1f00u);
        Assert.Equal(0x3fu, b.Mmio32(0xfebff00c)); // six ports implemented
        b.Config(0xfa, 0x04, 0x0000, 2);
        Assert.Equal(PciBar.Unmapped, q35.Ahci.Bars[5]!.Address);
    }

    [Fact]
    public void CommandMasterBitEnablesTheBusMasterAlias()
    {
        using var b = new PortBench("q35");
        var q35 = (Q35Machine)b.Machine;
        Assert.False(q35.Ahci!.BusMasterAlias.Enabled);
        b.Config(0xfa, 0x04, 0x0107, 2);
        Assert.True(q35.Ahci.BusMasterAlias.Enabled);
        Assert.Equal("ich9-ahci", q35.Ahci.BusMasterSpace.Name);
        Assert.Equal(0x0107u, b.Config(0xfa, 0x04, 2));
    }

    [Fact]
    public void StatusErrorBitsAreWriteOneToClear()
    {
        using var b = new PortBench("pc");
        var pc = (PcMachine)b.Machine;
        PciDevice ide = pc.Ide!;
        // Bits 8-15 of status are write-1-to-clear, never settable by a write.
        b.Config(0x09, 0x06, 0xffff, 2);
        Assert.Equal(0u, b.Config(0x09, 0x06, 2) & 0xf900);
        Assert.Equal(0x80, ide.Config[0x09]);
    }

    [Fact]
    public void Piix4PmBaseMovesTheAcpiBlockAndSmbus()
    {
        using var b = new PortBench("pc");
        var pc = (PcMachine)b.Machine;
        Assert.Equal(0x0200_0000u, b.Config(0x0b, 0x58)); // APMC_EN preset without SMM
        b.Config(0x0b, 0x40, 0x601, 4);
        Assert.False(pc.Pm!.Block.Enabled);
        b.Config(0x0b, 0x80, 0x01, 1);
        Assert.True(pc.Pm.Block.Enabled);
        Assert.Equal(0x600UL, pc.Pm.Block.Address);
        uint t0 = b.In32(0x608);
        Assert.True(SpinWait.SpinUntil(() => b.In32(0x608) != t0, TimeSpan.FromSeconds(5)), "the PM timer does not run");
        b.Out16(0x600, 0xffff); // status: write 1 to clear
        Assert.Equal(0, b.In16(0x600));
        b.Config(0x0b, 0x90, 0x701, 4);
        Assert.Equal(0x700UL, pc.Pm.Smbus.Region.Address);
        b.Out8(0x702, 0x48); // start a transaction: nobody answers
        Assert.Equal(0x04, b.In8(0x700));
        b.Out8(0x700, 0x04);
        Assert.Equal(0, b.In8(0x700));
    }

    [Fact]
    public void Piix3RoutesPirqsAndResetControlAsksForReset()
    {
        using var b = new PortBench("pc");
        var pc = (PcMachine)b.Machine;
        Assert.Equal(-1, pc.Piix3!.PirqRoute(0));
        b.Config(0x08, 0x60, 0x0b0b0a0a, 4);
        Assert.Equal(10, pc.Piix3.PirqRoute(0));
        Assert.Equal(11, pc.Piix3.PirqRoute(3));
        int resets = 0;
        pc.Piix3.ResetControl.ResetRequested += () => resets++;
        b.Out8(0xcf9, 0x06);
        Assert.Equal(1, resets);
        Assert.Equal(0x12378086u, b.Config(0x00, 0)); // a dword at 0xcf8 still reaches pci-conf-idx
    }

    [Fact]
    public void IdeBusMasterBlockKeepsThePrdAddress()
    {
        using var b = new PortBench("pc");
        b.Config(0x09, 0x20, 0xc000, 4);
        b.Config(0x09, 0x04, 0x0001, 2);
        b.Out32(0xc004, 0x0012_3457);
        Assert.Equal(0x0012_3454u, b.In32(0xc004));
        b.Out8(0xc002, 0x66);
        Assert.Equal(0x60, b.In8(0xc002));
        Assert.Equal(0, b.In8(0x1f7)); // no drive: status 0
    }

    [Fact]
    public void Ich9LpcPlacesPmBlockAndRcrbAndPresetsApmcEn()
    {
        using var b = new PortBench("q35");
        var q35 = (Q35Machine)b.Machine;
        b.Config(0xf8, 0x40, 0x601, 4);
        Assert.Equal(0x601u, b.Config(0xf8, 0x40)); // bit 0 reads 1, base bits 15-7
        Assert.False(q35.Lpc!.Pm.Block.Enabled);
        b.Config(0xf8, 0x44, 0x80, 1);
        Assert.True(q35.Lpc.Pm.Block.Enabled);
        Assert.Equal(0x20u, b.In32(0x630)); // SMI_EN: APMC_EN
        b.Config(0xf8, 0xf0, 0xfed1c001, 4);
        Assert.Equal(0xfed1c000UL, q35.Lpc.Rcrb.Address);
        b.Mmio32(0xfed1c000 + 0x3410, 0x20);
        Assert.Equal(0x20u, b.Mmio32(0xfed1c000 + 0x3410));
        b.Config(0xf8, 0xf0, 0, 4);
        Assert.False(q35.Lpc.Rcrb.IsMapped);
    }

    [Fact]
    public void Ich9SmbusDecodesOnlyWithHostEnable()
    {
        using var b = new PortBench("q35");
        var q35 = (Q35Machine)b.Machine;
        b.Config(0xfb, 0x20, 0x701, 4);
        b.Config(0xfb, 0x04, 0x0001, 2);
        Assert.Equal(0x700UL, q35.Smbus!.Bars[4]!.Address);
        Assert.False(q35.Smbus.Smbus.Region.Enabled);
        b.Config(0xfb, 0x40, 0x01, 1);
        Assert.True(q35.Smbus.Smbus.Region.Enabled);
    }

    [Fact]
    public void MmconfigReachesEveryFunction()
    {
        using var b = new PortBench("q35");
        b.Config(0x00, 0x60, 0xb0000001, 4);
        Assert.Equal(0x29188086u, b.Mmio32(0xb0000000 + (0xf8UL << 12)));
        Assert.Equal(0xffffffffu, b.Mmio32(0xb0000000 + (0x10UL << 12)));
        Assert.Equal(0xffffffffu, b.Mmio32(0xb0000000 + (1UL << 20))); // bus 1
        b.Mmio32(0xb0000000 + (0xfaUL << 12) + 0x3c, 0x0a);
        Assert.Equal(0x0au, b.Config(0xfa, 0x3c, 1));
    }

    [Fact]
    public void SystemResetPutsFunctionsBack()
    {
        using var b = new PortBench("q35");
        var q35 = (Q35Machine)b.Machine;
        b.Config(0xfa, 0x24, 0xfebff000, 4);
        b.Config(0xfa, 0x04, 0x0107, 2);
        b.Config(0xf8, 0x40, 0x601, 4);
        b.Config(0xf8, 0x44, 0x80, 1);
        q35.Reset();
        Assert.Equal(0u, b.Config(0xfa, 0x04, 2));
        Assert.Equal(PciBar.Unmapped, q35.Ahci!.Bars[5]!.Address);
        Assert.False(q35.Ahci.BusMasterAlias.Enabled);
        Assert.False(q35.Lpc!.Pm.Block.Enabled);
        Assert.Equal(1u, b.Config(0xf8, 0x40));
    }
}
