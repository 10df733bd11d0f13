using System.Buffers.Binary;
using System.Text;

namespace Memspace.Machines.Firmware;

/// <summary>
/// The ACPI tables Memspace gives pc and q35 through fw_cfg, in QEMU's three files: "etc/acpi/tables"
/// (FACS, DSDT, FADT, MADT, HPET, on q35 MCFG, and the RSDT, padded to 128 KiB as QEMU pads it),
/// "etc/acpi/rsdp" (an ACPI 1.0 RSDP) and "etc/table-loader" (the commands that place and link them).
/// They are valid and minimal, not QEMU's: the FADT is revision 1 with QEMU's register blocks
/// (PM base 0x600, SMI command port 0xb2), the DSDT only declares the PCI root, keyboard and mouse,
/// and there is no SSDT. The memory map does not depend on their content; their presence does
/// (SeaBIOS moves the PM base to 0x600 when "etc/table-loader" exists, as under QEMU).
/// </summary>
public sealed class AcpiTables
{
    /// <summary>fw_cfg name of the tables file.</summary>
    public const string TablesFile = "etc/acpi/tables";

    /// <summary>fw_cfg name of the RSDP file.</summary>
    public const string RsdpFile = "etc/acpi/rsdp";

    /// <summary>fw_cfg name of the loader file.</summary>
    public const string LoaderFile = "etc/table-loader";

    /// <summary>QEMU's ACPI PM I/O base for pc and q35 (what SeaBIOS programs when it finds the loader).</summary>
    public const ushort PmBase = 0x600;

    /// <summary>Size QEMU pads the tables file to (<c>ACPI_BUILD_TABLE_SIZE</c>).</summary>
    public const int TablesPaddedSize = 0x20000;

    private AcpiTables(byte[] tables, byte[] rsdp, byte[] loader, IReadOnlyList<(string Signature, int Offset, int Length)> layout)
    {
        Tables = tables;
        Rsdp = rsdp;
        Loader = loader;
        Layout = layout;
    }

    /// <summary>The "etc/acpi/tables" file.</summary>
    public byte[] Tables { get; }

    /// <summary>The "etc/acpi/rsdp" file.</summary>
    public byte[] Rsdp { get; }

    /// <summary>The "etc/table-loader" file.</summary>
    public byte[] Loader { get; }

    /// <summary>Where each table sits in <see cref="Tables"/>.</summary>
    public IReadOnlyList<(string Signature, int Offset, int Length)> Layout { get; }

    /// <summary>Builds the tables for a pc (<paramref name="q35"/> false) or q35 board.</summary>
    /// <param name="q35">Whether the board is q35 (ICH9: GPE0 block of 16 bytes at PM base + 0x20, MCFG, PCIe root).</param>
    /// <param name="mcfgBase">The MMCONFIG window on q35.</param>
    /// <param name="mcfgSize">Its size.</param>
    public static AcpiTables Build(bool q35, ulong mcfgBase = 0xb000_0000, ulong mcfgSize = 0x1000_0000)
    {
        var blob = new List<byte>();
        var layout = new List<(string, int, int)>();
        var loader = new BiosLinkerLoader();
        loader.Allocate(TablesFile, 64, BiosLinkerLoader.ZoneHigh);
        int Add(string signature, byte[] table, bool checksum = true)
        {
            while (blob.Count % 8 != 0)
            {
                blob.Add(0);
            }
            int at = blob.Count;
            blob.AddRange(table);
            layout.Add((signature, at, table.Length));
            if (checksum)
            {
                loader.AddChecksum(TablesFile, (uint)(at + AcpiTable.ChecksumOffset), (uint)at, (uint)table.Length);
            }
            return at;
        }

        int facs = Add("FACS", Facs(), checksum: false);
        int dsdt = Add("DSDT", Dsdt(q35));
        byte[] fadtBytes = Fadt(q35, (uint)facs, (uint)dsdt);
        int fadt = blob.Count + ((8 - (blob.Count % 8)) % 8);
        loader.AddPointer(TablesFile, TablesFile, (uint)(fadt + 36), 4);
        loader.AddPointer(TablesFile, TablesFile, (uint)(fadt + 40), 4);
        Add("FACP", fadtBytes);
        var entries = new List<int> { fadt, Add("APIC", Madt(q35)), Add("HPET", Hpet()) };
        if (q35)
        {
            entries.Add(Add("MCFG", Mcfg(mcfgBase, mcfgSize)));
        }
        var rsdt = new AcpiTable("RSDT", 1);
        foreach (int e in entries)
        {
            rsdt.U32((uint)e);
        }
        int rsdtAt = blob.Count + ((8 - (blob.Count % 8)) % 8);
        for (int i = 0; i < entries.Count; i++)
        {
            loader.AddPointer(TablesFile, TablesFile, (uint)(rsdtAt + AcpiTable.HeaderSize + (4 * i)), 4);
        }
        Add("RSDT", rsdt.ToArray());
        byte[] tables = [.. blob];
        Array.Resize(ref tables, TablesPaddedSize);

        byte[] rsdp = new byte[20];
        Encoding.ASCII.GetBytes("RSD PTR ").CopyTo(rsdp, 0);
        Encoding.ASCII.GetBytes("BOCHS ").CopyTo(rsdp, 9);
        rsdp[15] = 0; // ACPI 1.0
        BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(16), (uint)rsdtAt);
        loader.Allocate(RsdpFile, 16, BiosLinkerLoader.ZoneFSeg);
        loader.AddPointer(RsdpFile, TablesFile, 16, 4);
        loader.AddChecksum(RsdpFile, 8, 0, 20);
        return new AcpiTables(tables, rsdp, loader.ToArray(), layout);
    }

    private static byte[] Facs()
    {
        var facs = new byte[64];
        Encoding.ASCII.GetBytes("FACS").CopyTo(facs, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(facs.AsSpan(4), 64);
        return facs;
    }

    private static byte[] Dsdt(bool q35)
    {
        var t = new AcpiTable("DSDT", 1);
        t.Bytes(AcpiAml.Scope(@"\_SB_",
            AcpiAml.Device("PCI0",
                AcpiAml.NameEisaId("_HID", q35 ? "PNP0A08" : "PNP0A03"),
                AcpiAml.Device("KBD_", AcpiAml.NameEisaId("_HID", "PNP0303")),
                AcpiAml.Device("MOU_", AcpiAml.NameEisaId("_HID", "PNP0F13")))));
        return t.ToArray();
    }

    /// <summary>A revision-1 FADT (116 bytes) with QEMU's PIIX4 / ICH9 register blocks.</summary>
    private static byte[] Fadt(bool q35, uint facs, uint dsdt)
    {
        var t = new AcpiTable("FACP", 1);
        t.U32(facs);
        t.U32(dsdt);
        t.U8(1); // INT_MODEL (ACPI 1.0)
        t.U8(0); // preferred PM profile
        t.U16(9); // SCI interrupt
        t.U32(0xb2); // SMI command port (APM)
        t.U8(0xf1); // ACPI_ENABLE
        t.U8(0xf0); // ACPI_DISABLE
        t.U8(0); // S4BIOS_REQ
        t.U8(0); // PSTATE_CNT
        t.U32(PmBase); // PM1a event block
        t.U32(0);
        t.U32(PmBase + 4u); // PM1a control block
        t.U32(0);
        t.U32(0); // PM2 control
        t.U32(PmBase + 8u); // PM timer
        t.U32(q35 ? PmBase + 0x20u : 0xafe0u); // GPE0 block
        t.U32(0);
        t.U8(4); // PM1 event length
        t.U8(2); // PM1 control length
        t.U8(0);
        t.U8(4); // PM timer length
        t.U8(q35 ? (byte)16 : (byte)4); // GPE0 length
        t.U8(0);
        t.U8(0);
        t.U8(0); // CST_CNT
        t.U16(0xfff); // C2 latency: not supported
        t.U16(0xfff); // C3 latency: not supported
        t.U16(0);
        t.U16(0);
        t.U8(0);
        t.U8(0);
        t.U8(0x0d); // RTC day alarm
        t.U8(0); // month alarm
        t.U8(0x32); // century
        t.U16(0); // boot architecture flags (reserved in revision 1)
        t.U8(0);
        t.U32((1u << 0) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 8)); // WBINVD, C1, power and sleep buttons, 32-bit timer
        return t.ToArray();
    }

    private static byte[] Madt(bool q35)
    {
        var t = new AcpiTable("APIC", 1);
        t.U32(0xfee0_0000); // local APIC
        t.U32(1); // PC-AT compatible 8259s
        t.Bytes([0, 8, 0, 0, 1, 0, 0, 0]); // processor 0, APIC id 0, enabled
        t.Bytes([1, 12, 0, 0]); // I/O APIC 0
        t.U32(0xfec0_0000);
        t.U32(0);
        IsaOverride(t, 0, 2, 0); // the PIT's IRQ 0 is GSI 2
        foreach (byte irq in q35 ? new byte[] { 9 } : [5, 9, 10, 11])
        {
            IsaOverride(t, irq, irq, 0x0d); // PCI and SCI lines: level-triggered, active high
        }
        t.Bytes([4, 6, 0xff, 0, 0, 1]); // NMI on LINT1 of every processor
        return t.ToArray();
    }

    private static void IsaOverride(AcpiTable t, byte source, uint gsi, ushort flags)
    {
        t.Bytes([2, 10, 0, source]);
        t.U32(gsi);
        t.U16(flags);
    }

    private static byte[] Hpet()
    {
        var t = new AcpiTable("HPET", 1);
        t.U32(0x8086_a201); // event timer block id as QEMU's HPET reports it
        t.Bytes([0, 0, 0, 0]); // memory space, width, offset, access size
        t.U64(0xfed0_0000);
        t.U8(0); // HPET number
        t.U16(0); // minimum tick
        t.U8(0); // no page protection
        return t.ToArray();
    }

    private static byte[] Mcfg(ulong baseAddress, ulong size)
    {
        var t = new AcpiTable("MCFG", 1);
        t.U64(0);
        t.U64(baseAddress);
        t.U16(0); // segment
        t.U8(0); // first bus
        t.U8((byte)((size >> 20) - 1)); // last bus
        t.U32(0);
        return t.ToArray();
    }
}
