using System.Buffers.Binary;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The PIIX4 power-management function at 00:01.3 (QEMU's <c>PIIX4_PM</c>, 8086:7113): the "piix4-pm"
/// block (ACPI PM1 event, control and timer) placed by PMBASE (0x40, bits 15-6) and enabled by
/// PMREGMISC bit 0 (0x80); the SMBus host "pm-smbus" placed by SMBBA (0x90) and enabled by SMBHSTCFG
/// bit 0 (0xd2), preset to 0xb100 as QEMU does; APM at 0xb2; GPE0 at 0xafe0 and the PCI/CPU hotplug
/// blocks at 0xae00/0xaf00. Without SMM, APMC_EN is preset in DEVACTB (0x58 bit 25), which tells
/// firmware SMM needs no setting up.
/// </summary>
public sealed class Piix4Pm : PciDevice
{
    /// <summary>PMBASE.</summary>
    public const int PmBase = 0x40;

    /// <summary>PMREGMISC.</summary>
    public const int PmRegMisc = 0x80;

    /// <summary>SMBus base address.</summary>
    public const int SmbBase = 0x90;

    /// <summary>SMBus host configuration.</summary>
    public const int SmbHostConfig = 0xd2;

    /// <summary>The SMBus base QEMU's pc presets.</summary>
    public const ushort DefaultSmbBase = 0xb100;

    /// <summary>Creates the function and its register blocks (mapped by <see cref="Map"/>).</summary>
    /// <param name="machine">The machine.</param>
    /// <param name="smm">Whether SMM is available (otherwise APMC_EN is preset).</param>
    public Piix4Pm(Machine machine, bool smm)
        : base(machine, "PIIX4_PM", 0x0b, PciIds.VendorIntel, PciIds.Piix4Pm, 0x068000, revision: 0x03)
    {
        Smm = smm;
        MemorySystem s = machine.System;
        ConfigBytes[PciIds.InterruptPin] = 1;
        Apm = new ApmControl(s, Owner);
        Block = MemoryRegion.CreateContainer(s, "piix4-pm", 0x40, Owner);
        Smbus = new PmSmbus(s, Owner);
        Pm = new AcpiPmRegisters(s, Block, Owner, machine.Options.DeviceClock);
        Gpe = new AcpiGpe(s, 4, Owner);
        Hotplug = new AcpiHotplug(s, Owner);
        ResetDefaults();
    }

    /// <summary>Whether SMM is available.</summary>
    public bool Smm { get; }

    /// <summary>"apm-io".</summary>
    public ApmControl Apm { get; }

    /// <summary>"piix4-pm", the container PMBASE moves.</summary>
    public MemoryRegion Block { get; }

    /// <summary>PM1 event/control and PM timer.</summary>
    public AcpiPmRegisters Pm { get; }

    /// <summary>"pm-smbus".</summary>
    public PmSmbus Smbus { get; }

    /// <summary>"acpi-gpe0".</summary>
    public AcpiGpe Gpe { get; }

    /// <summary>The hotplug blocks.</summary>
    public AcpiHotplug Hotplug { get; }

    /// <summary>Maps everything in QEMU's order (APM, PM block, SMBus, GPE, hotplug).</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        using (Machine.System.Transaction())
        {
            io.AddSubregion(0xb2, Apm.Region);
            Block.SetEnabled(false);
            io.AddSubregion(0, Block);
            io.AddSubregion(DefaultSmbBase, Smbus.Region);
            io.AddSubregion(0xafe0, Gpe.Region);
            Hotplug.Map(io, 0xae00, 0xaf00);
            UpdatePm();
            UpdateSmbus();
        }
    }

    /// <inheritdoc/>
    public override void Reset()
    {
        base.Reset();
        ResetDefaults();
        Pm.Reset();
        if (Block.Container is not null)
        {
            UpdatePm();
            UpdateSmbus();
        }
    }

    /// <inheritdoc/>
    protected override void ConfigWritten(int register, int length)
    {
        if (Overlaps(register, length, PmBase, 4) || Overlaps(register, length, PmRegMisc, 1))
        {
            UpdatePm();
        }
        if (Overlaps(register, length, SmbBase, 4) || Overlaps(register, length, SmbHostConfig, 1))
        {
            UpdateSmbus();
        }
    }

    /// <summary>After the configuration space: APM, PM1 and the PM timer, the SMBus host, GPE0 and the hotplug blocks.</summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Apm.SaveState(writer);
        Pm.SaveState(writer, "pm1.");
        Smbus.SaveState(writer);
        Gpe.SaveState(writer, "");
        Hotplug.SaveState(writer, "");
    }

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Action apm = Apm.ReadState(reader);
        Action pm = Pm.ReadState(reader, "pm1.");
        Action smbus = Smbus.ReadState(reader);
        Action gpe = Gpe.ReadState(reader, "");
        Action hotplug = Hotplug.ReadState(reader, "");
        return () =>
        {
            apm();
            pm();
            smbus();
            gpe();
            hotplug();
        };
    }

    private void ResetDefaults()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(ConfigBytes[PmBase..], 1);
        ConfigBytes[PmRegMisc] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(ConfigBytes[SmbBase..], DefaultSmbBase | 1u);
        ConfigBytes[SmbHostConfig] = 0x09;
        ConfigBytes[0x5b] = (byte)(Smm ? 0 : 0x02); // DEVACTB APMC_EN
    }

    private void UpdatePm()
    {
        uint bar = BinaryPrimitives.ReadUInt32LittleEndian(ConfigBytes[PmBase..]);
        byte misc = ConfigBytes[PmRegMisc];
        Place(Machine.SystemIo, Block, bar & 0xffc0, (misc & 1) != 0, $"PMBASE 0x{bar:x} PMREGMISC 0x{misc:x2}");
    }

    private void UpdateSmbus()
    {
        uint bar = BinaryPrimitives.ReadUInt32LittleEndian(ConfigBytes[SmbBase..]);
        byte cfg = ConfigBytes[SmbHostConfig];
        Place(Machine.SystemIo, Smbus.Region, bar & 0xffc0, (cfg & 1) != 0, $"SMBBA 0x{bar:x} SMBHSTCFG 0x{cfg:x2}");
    }
}
