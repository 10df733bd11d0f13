using System.Buffers.Binary;
using System.Text;

namespace Memspace.Machines.Firmware;

/// <summary>
/// The SMBIOS 2.8 tables Memspace gives pc and q35 through fw_cfg, in QEMU's two files:
/// "etc/smbios/smbios-anchor" (the 31-byte "_SM_" entry point, whose table address the firmware fills)
/// and "etc/smbios/smbios-tables" (the structures). The structure types and handles are QEMU 7.2's
/// defaults for one CPU: system (1), chassis (3), processor (4), physical memory array (16), memory
/// devices (17, one per 16 GiB), mapped address ranges (19, below and above 4 GiB), boot information (32)
/// and end of table (127). Type 0 (BIOS information) is left to the firmware, as QEMU leaves it.
/// Values are plain (no serial numbers or UUID), not QEMU's byte for byte.
/// </summary>
public sealed class SmbiosTables
{
    /// <summary>fw_cfg name of the entry point file.</summary>
    public const string AnchorFile = "etc/smbios/smbios-anchor";

    /// <summary>fw_cfg name of the structures file.</summary>
    public const string TablesFile = "etc/smbios/smbios-tables";

    private const ulong MaxDimmSize = 16UL << 30;

    private readonly List<byte> _tables = [];
    private int _count;
    private int _largest;

    private SmbiosTables()
    {
    }

    /// <summary>The entry point ("_SM_", SMBIOS 2.8, 31 bytes, table address 0).</summary>
    public byte[] Anchor { get; private set; } = [];

    /// <summary>The structures, each followed by its strings.</summary>
    public byte[] Tables => [.. _tables];

    /// <summary>Number of structures.</summary>
    public int Count => _count;

    /// <summary>Builds the tables for a board.</summary>
    /// <param name="product">The machine's description ("Standard PC (Q35 + ICH9, 2009)").</param>
    /// <param name="version">The machine type version ("pc-q35-7.2").</param>
    /// <param name="below4g">RAM below 4 GiB.</param>
    /// <param name="above4g">RAM above 4 GiB.</param>
    public static SmbiosTables Build(string product, string version, ulong below4g, ulong above4g)
    {
        var t = new SmbiosTables();
        ulong ram = below4g + above4g;

        var system = new List<byte> { 1, 2, 3, 0 }; // manufacturer, product, version; no serial
        system.AddRange(new byte[16]); // UUID: not set
        system.AddRange([6, 0, 0]); // woken by the power switch; no SKU, no family
        t.Add(1, 0x100, system, "QEMU", product, version);

        t.Add(3, 0x300, [1, 1, 2, 0, 0, 3, 3, 3, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0], "QEMU", version);

        var cpu = new List<byte> { 1, 3, 0xfe, 2 }; // socket "CPU 0", central processor, family in family2, manufacturer
        cpu.AddRange(new byte[8]); // processor id
        cpu.AddRange([3, 0]); // version string, voltage
        cpu.AddRange(U16(0)); // external clock
        cpu.AddRange(U16(2000)); // max speed, MHz
        cpu.AddRange(U16(2000)); // current speed
        cpu.AddRange([0x41, 1]); // populated and enabled; upgrade: other
        cpu.AddRange(U16(0xffff));
        cpu.AddRange(U16(0xffff));
        cpu.AddRange(U16(0xffff)); // no cache information
        cpu.AddRange([0, 0, 0, 1, 1, 1]); // serial, asset, part; one core, enabled, one thread
        cpu.AddRange(U16(2)); // characteristics: unknown
        cpu.AddRange(U16(1)); // family2: other
        t.Add(4, 0x400, cpu, "CPU 0", "QEMU", version);

        int dimms = (int)((ram + MaxDimmSize - 1) / MaxDimmSize);
        var array = new List<byte> { 1, 3, 6 }; // other location, system memory, multi-bit ECC
        ulong kib = ram >> 10;
        array.AddRange(U32(kib >= 0x8000_0000 ? 0x8000_0000u : (uint)kib));
        array.AddRange(U16(0xfffe)); // no error information
        array.AddRange(U16((ushort)dimms));
        array.AddRange(U64(kib >= 0x8000_0000 ? ram : 0));
        t.Add(16, 0x1000, array);

        for (int i = 0; i < dimms; i++)
        {
            ulong size = Math.Min(MaxDimmSize, ram - ((ulong)i * MaxDimmSize));
            ulong mib = size >> 20;
            var dimm = new List<byte>();
            dimm.AddRange(U16(0x1000)); // the array
            dimm.AddRange(U16(0xfffe));
            dimm.AddRange(U16(0xffff)); // total width unknown
            dimm.AddRange(U16(0xffff)); // data width unknown
            dimm.AddRange(U16(mib < 0x7fff ? (ushort)mib : (ushort)0x7fff));
            dimm.AddRange([9, 0, 1, 0, 7]); // DIMM, no set, locator string, no bank, RAM
            dimm.AddRange(U16(2)); // type detail: other
            dimm.AddRange(U16(0)); // speed unknown
            dimm.AddRange([2, 0, 0, 0, 0]); // manufacturer string; no serial, asset, part; attributes
            dimm.AddRange(U32(mib < 0x7fff ? 0u : (uint)mib));
            dimm.AddRange(U16(0)); // configured speed
            dimm.AddRange(U16(0));
            dimm.AddRange(U16(0));
            dimm.AddRange(U16(0)); // voltages unknown
            t.Add(17, 0x1100 + i, dimm, $"DIMM {i}", "QEMU");
        }

        int mapped = 0;
        foreach ((ulong start, ulong length) in new[] { (0UL, below4g), (1UL << 32, above4g) })
        {
            if (length == 0)
            {
                continue;
            }
            ulong end = start + length - 1;
            bool extended = (end >> 10) >= uint.MaxValue;
            var range = new List<byte>();
            range.AddRange(U32(extended ? uint.MaxValue : (uint)(start >> 10)));
            range.AddRange(U32(extended ? uint.MaxValue : (uint)(end >> 10)));
            range.AddRange(U16(0x1000));
            range.Add(1); // partition width
            range.AddRange(U64(extended ? start : 0));
            range.AddRange(U64(extended ? end : 0));
            t.Add(19, 0x1300 + mapped++, range);
        }

        t.Add(32, 0x2000, [0, 0, 0, 0, 0, 0, 0]); // no errors detected
        t.Add(127, 0x7f00, []);
        t.Anchor = t.EntryPoint();
        return t;
    }

    private void Add(byte type, int handle, IReadOnlyCollection<byte> formatted, params string[] strings)
    {
        int start = _tables.Count;
        _tables.Add(type);
        _tables.Add((byte)(4 + formatted.Count));
        _tables.AddRange(U16((ushort)handle));
        _tables.AddRange(formatted);
        foreach (string s in strings)
        {
            _tables.AddRange(Encoding.ASCII.GetBytes(s));
            _tables.Add(0);
        }
        if (strings.Length == 0)
        {
            _tables.Add(0);
        }
        _tables.Add(0);
        _count++;
        _largest = Math.Max(_largest, _tables.Count - start);
    }

    private byte[] EntryPoint()
    {
        var ep = new byte[31];
        Encoding.ASCII.GetBytes("_SM_").CopyTo(ep, 0);
        ep[5] = 31;
        ep[6] = 2;
        ep[7] = 8;
        BinaryPrimitives.WriteUInt16LittleEndian(ep.AsSpan(8), (ushort)_largest);
        Encoding.ASCII.GetBytes("_DMI_").CopyTo(ep, 16);
        BinaryPrimitives.WriteUInt16LittleEndian(ep.AsSpan(22), (ushort)_tables.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(ep.AsSpan(28), (ushort)_count);
        ep[30] = 0x28;
        ep[21] = AcpiTable.Checksum(ep.AsSpan(16, 15));
        ep[4] = AcpiTable.Checksum(ep);
        return ep;
    }

    private static byte[] U16(ushort v) => BitConverter.GetBytes(v);

    private static byte[] U32(uint v) => BitConverter.GetBytes(v);

    private static byte[] U64(ulong v) => BitConverter.GetBytes(v);
}
