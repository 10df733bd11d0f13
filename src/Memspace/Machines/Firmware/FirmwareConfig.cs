using Memspace.Machines.Devices;

namespace Memspace.Machines.Firmware;

/// <summary>
/// What QEMU 7.2 puts in fw_cfg for pc and q35 (<c>fw_cfg_arch_create</c>, <c>pc_machine_done</c> and
/// friends) that SeaBIOS reads: RAM size, CPU counts (one CPU), the empty NUMA table, no-graphics and
/// boot-menu flags, the IRQ0 override, the empty legacy ACPI table list, "etc/e820", "bootorder"
/// (empty), "etc/boot-fail-wait" (-1: never reboot), "etc/system-states", and ACPI tables with their
/// loader (<see cref="AcpiTables"/>) and SMBIOS tables (<see cref="SmbiosTables"/>): valid and minimal,
/// not QEMU's byte for byte.
/// </summary>
public static class FirmwareConfig
{
    /// <summary>Fills <paramref name="fwCfg"/> for <paramref name="machine"/>.</summary>
    /// <param name="machine">The board.</param>
    /// <param name="fwCfg">Its fw_cfg device.</param>
    /// <param name="kvm">Whether the accelerator is KVM (the e820 table then reserves the identity map).</param>
    public static void Populate(X86Machine machine, FwCfg fwCfg, bool kvm)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(fwCfg);
        const ushort cpus = 1;
        fwCfg.SetItem(FwCfg.KeyRamSize, BitConverter.GetBytes(machine.Options.RamSize));
        fwCfg.SetItem(FwCfg.KeyNbCpus, BitConverter.GetBytes(cpus));
        fwCfg.SetItem(FwCfg.KeyMaxCpus, BitConverter.GetBytes(cpus));
        fwCfg.SetItem(FwCfg.KeyNuma, new byte[8 * (1 + cpus)]); // no nodes: count 0, then one zero per CPU
        fwCfg.SetItem(FwCfg.KeyNographic, new byte[2]);
        fwCfg.SetItem(FwCfg.KeyBootMenu, new byte[2]);
        fwCfg.SetItem(FwCfg.KeyIrq0Override, BitConverter.GetBytes(1u));
        fwCfg.SetItem(FwCfg.KeyAcpiTables, new byte[2]);
        fwCfg.SetFile("etc/e820", E820Table.ForPc(machine.BelowFourGiB, machine.AboveFourGiB, kvm).ToBytes());
        fwCfg.SetFile("bootorder", []);
        fwCfg.SetFile("etc/boot-fail-wait", BitConverter.GetBytes(uint.MaxValue));
        fwCfg.SetFile("etc/system-states", [0x80, 0x00, 0x00, 0x81, 0x00, 0x80]); // S3 and S4 off, S5 on
        AcpiTables acpi = AcpiTables.Build(q35: machine is Q35Machine);
        fwCfg.SetFile(AcpiTables.TablesFile, acpi.Tables);
        fwCfg.SetFile(AcpiTables.RsdpFile, acpi.Rsdp);
        fwCfg.SetFile(AcpiTables.LoaderFile, acpi.Loader);
        SmbiosTables smbios = SmbiosTables.Build(machine.Description, machine is Q35Machine ? "pc-q35-7.2" : "pc-i440fx-7.2",
                                                 machine.BelowFourGiB, machine.AboveFourGiB);
        fwCfg.SetFile(SmbiosTables.AnchorFile, smbios.Anchor);
        fwCfg.SetFile(SmbiosTables.TablesFile, smbios.Tables);
    }
}
