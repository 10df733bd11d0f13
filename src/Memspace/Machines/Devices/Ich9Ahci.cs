using Memspace.Machines.State;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ICH9 AHCI controller at 00:1f.2 (QEMU's <c>ich9-ahci</c>, 8086:2922) with no drives: BAR 5 is the
/// 4 KiB "ahci" register block, BAR 4 the 32-byte "ahci-idp" index/data pair.
/// </summary>
public sealed class Ich9Ahci : PciDevice
{
    /// <summary>Creates the function and its BARs.</summary>
    /// <param name="machine">The machine.</param>
    public Ich9Ahci(Machine machine)
        : base(machine, "ich9-ahci", 0xfa, PciIds.VendorIntel, PciIds.Ich9Ahci, 0x010601, revision: 0x02)
    {
        Hba = new AhciHba(machine.System, Owner);
        ConfigBytes[PciIds.InterruptPin] = 1;
        RegisterBar(4, Hba.IndexData, io: true);
        RegisterBar(5, Hba.Mmio, io: false);
    }

    /// <summary>The host bus adapter registers.</summary>
    public AhciHba Hba { get; }

    /// <summary>After the configuration space: the HBA registers.</summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer) => Hba.SaveState(writer);

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader) => Hba.ReadState(reader);

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        ConfigBytes[PciIds.InterruptPin] = 1;
        Hba.Reset();
    }
}
