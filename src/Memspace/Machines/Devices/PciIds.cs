namespace Memspace.Machines.Devices;

/// <summary>PCI vendor and device ids of the functions on QEMU 7.2's pc and q35 buses, and the configuration-space offsets they use.</summary>
public static class PciIds
{
    /// <summary>Intel.</summary>
    public const ushort VendorIntel = 0x8086;

    /// <summary>Red Hat / Qumranet, the subsystem vendor QEMU gives every function (SeaBIOS recognises QEMU by it).</summary>
    public const ushort SubsystemVendorQemu = 0x1af4;

    /// <summary>The subsystem id QEMU gives every function.</summary>
    public const ushort SubsystemQemu = 0x1100;

    /// <summary>i440FX host bridge.</summary>
    public const ushort I440fx = 0x1237;

    /// <summary>PIIX3 PCI-to-ISA bridge.</summary>
    public const ushort Piix3Isa = 0x7000;

    /// <summary>PIIX3 IDE.</summary>
    public const ushort Piix3Ide = 0x7010;

    /// <summary>PIIX4 power management (ACPI).</summary>
    public const ushort Piix4Pm = 0x7113;

    /// <summary>Q35 MCH host bridge.</summary>
    public const ushort Q35Mch = 0x29c0;

    /// <summary>ICH9 LPC bridge.</summary>
    public const ushort Ich9Lpc = 0x2918;

    /// <summary>ICH9 AHCI controller.</summary>
    public const ushort Ich9Ahci = 0x2922;

    /// <summary>ICH9 SMBus controller.</summary>
    public const ushort Ich9Smbus = 0x2930;

    /// <summary>Command register.</summary>
    public const int Command = 0x04;

    /// <summary>Status register.</summary>
    public const int Status = 0x06;

    /// <summary>First base address register.</summary>
    public const int Bar0 = 0x10;

    /// <summary>Subsystem vendor id.</summary>
    public const int SubsystemVendorId = 0x2c;

    /// <summary>Subsystem id.</summary>
    public const int SubsystemId = 0x2e;

    /// <summary>Expansion ROM base address.</summary>
    public const int RomAddress = 0x30;

    /// <summary>Interrupt line.</summary>
    public const int InterruptLine = 0x3c;

    /// <summary>Interrupt pin.</summary>
    public const int InterruptPin = 0x3d;

    /// <summary>Command bit: I/O space decoding.</summary>
    public const ushort CommandIo = 1;

    /// <summary>Command bit: memory space decoding.</summary>
    public const ushort CommandMemory = 2;

    /// <summary>Command bit: bus mastering.</summary>
    public const ushort CommandMaster = 4;
}
