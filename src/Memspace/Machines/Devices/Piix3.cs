using Memspace.Machines.State;

namespace Memspace.Machines.Devices;

/// <summary>
/// The PIIX3 PCI-to-ISA bridge at 00:01.0 (QEMU's <c>PIIX3</c>, 8086:7000): the PIRQ route control
/// registers 0x60-0x63 (IRQ number, bit 7 disables the route; 0x80 at reset) and the reset control
/// register at 0xcf9 ("piix3-reset-control").
/// </summary>
public sealed class Piix3 : PciDevice
{
    /// <summary>First PIRQ route control register.</summary>
    public const int PirqRouteControl = 0x60;

    /// <summary>Creates the function and its reset control register (mapped by <see cref="MapResetControl"/>).</summary>
    /// <param name="machine">The machine.</param>
    public Piix3(Machine machine)
        : base(machine, "PIIX3", 0x08, PciIds.VendorIntel, PciIds.Piix3Isa, 0x060100, multiFunction: true)
    {
        ResetControl = new ResetControl(machine.System, "piix3-reset-control", Owner);
        ResetDefaults();
    }

    /// <summary>"piix3-reset-control".</summary>
    public ResetControl ResetControl { get; }

    /// <summary>The IRQ PIRQ <paramref name="pirq"/> (0-3 for A-D) is routed to, or -1 when disabled.</summary>
    /// <param name="pirq">0-3.</param>
    public int PirqRoute(int pirq)
    {
        byte v = ConfigBytes[PirqRouteControl + (pirq & 3)];
        return (v & 0x80) != 0 ? -1 : v & 0x0f;
    }

    /// <summary>Maps the reset control register at 0xcf9 with priority 1.</summary>
    public void MapResetControl() => Machine.SystemIo.AddSubregion(ResetControl.Port, ResetControl.Region, 1);

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        ResetDefaults();
    }

    /// <summary>After the configuration space: the reset control register ("rcr").</summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer) => ResetControl.SaveState(writer);

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader) => ResetControl.ReadState(reader);

    private void ResetDefaults()
    {
        ConfigBytes.Slice(PirqRouteControl, 4).Fill(0x80);
        ConfigBytes[0x69] = 0x02; // top of memory
        ConfigBytes[0x70] = 0x80; // PIC/APIC chip select
        ConfigBytes[0x76] = ConfigBytes[0x77] = 0x0c; // DMA
        ConfigBytes[0x78] = 0x02; // memory hole
        ConfigBytes[0x80] = 0x00;
        ConfigBytes[0xa0] = 0x08;
    }
}
