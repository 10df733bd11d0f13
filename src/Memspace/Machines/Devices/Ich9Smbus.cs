using Memspace.Machines.State;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ICH9 SMBus controller at 00:1f.3 (QEMU's <c>ICH9-SMB</c>, 8086:2930): BAR 4 is the 64-byte
/// "pm-smbus" block, which decodes only while HOSTC (0x40) has HST_EN (bit 0) set and I2C_EN (bit 2)
/// clear.
/// </summary>
public sealed class Ich9Smbus : PciDevice
{
    /// <summary>Host configuration register.</summary>
    public const int HostConfig = 0x40;

    /// <summary>Creates the function and its BAR.</summary>
    /// <param name="machine">The machine.</param>
    public Ich9Smbus(Machine machine)
        : base(machine, "ICH9-SMB", 0xfb, PciIds.VendorIntel, PciIds.Ich9Smbus, 0x0c0500, revision: 0x02)
    {
        Smbus = new PmSmbus(machine.System, Owner);
        ConfigBytes[PciIds.InterruptPin] = 1;
        RegisterBar(4, Smbus.Region, io: true);
        Smbus.Region.SetEnabled(false);
    }

    /// <summary>"pm-smbus".</summary>
    public PmSmbus Smbus { get; }

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        ConfigBytes[PciIds.InterruptPin] = 1;
        ConfigBytes[HostConfig] = 0;
        Smbus.Region.SetEnabled(false);
    }

    /// <summary>After the configuration space: the SMBus host registers ("smbus").</summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer) => Smbus.SaveState(writer);

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader) => Smbus.ReadState(reader);

    /// <inheritdoc/>
    protected override void ConfigWritten(int register, int length)
    {
        if (Overlaps(register, length, HostConfig, 1))
        {
            byte hostc = ConfigBytes[HostConfig];
            SetEnabled(Smbus.Region, (hostc & 1) != 0 && (hostc & 4) == 0, $"HOSTC 0x{hostc:x2}");
        }
    }
}
