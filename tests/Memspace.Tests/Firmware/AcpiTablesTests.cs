using System.Buffers.Binary;
using System.Text;
using Memspace.Machines.Firmware;

namespace Memspace.Tests.Firmware;

/// <summary>
/// The ACPI files given to firmware, checked the way firmware uses them: the loader's commands are
/// executed here as SeaBIOS executes them (files placed at made-up addresses, pointers patched,
/// checksums fixed), then the tables are walked from the RSDP.
/// </summary>
public class AcpiTablesTests
{
    private const uint TablesAt = 0x1ffe_0000;
    private const uint RsdpAt = 0xf5a50;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheLoaderLinksTablesThatFirmwareCanWalk(bool q35)
    {
        AcpiTables acpi = AcpiTables.Build(q35);
        Dictionary<string, (byte[] Data, uint Address)> files = Execute(acpi);
        byte[] rsdp = files[AcpiTables.RsdpFile].Data;
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(rsdp, 0, 8));
        Assert.Equal(0, Sum(rsdp.AsSpan(0, 20)));
        byte[] mem = files[AcpiTables.TablesFile].Data;
        Span<byte> Table(uint address)
        {
            int at = checked((int)(address - TablesAt));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(mem.AsSpan(at + 4));
            return mem.AsSpan(at, length);
        }
        Span<byte> rsdt = Table(BinaryPrimitives.ReadUInt32LittleEndian(rsdp.AsSpan(16)));
        Assert.Equal("RSDT", Encoding.ASCII.GetString(rsdt[..4]));
        Assert.Equal(0, Sum(rsdt));
        var signatures = new List<string>();
        for (int i = 36; i < rsdt.Length; i += 4)
        {
            Span<byte> t = Table(BinaryPrimitives.ReadUInt32LittleEndian(rsdt[i..]));
            Assert.Equal(0, Sum(t));
            signatures.Add(Encoding.ASCII.GetString(t[..4]));
        }
        Assert.Equal(q35 ? ["FACP", "APIC", "HPET", "MCFG"] : new[] { "FACP", "APIC", "HPET" }, signatures);
        Span<byte> fadt = Table(BinaryPrimitives.ReadUInt32LittleEndian(rsdt[36..]));
        Assert.Equal(116, fadt.Length);
        int facs = (int)(BinaryPrimitives.ReadUInt32LittleEndian(fadt[36..]) - TablesAt);
        Assert.Equal("FACS", Encoding.ASCII.GetString(mem, facs, 4));
        Assert.Equal(0, facs % 64);
        Span<byte> dsdt = Table(BinaryPrimitives.ReadUInt32LittleEndian(fadt[40..]));
        Assert.Equal("DSDT", Encoding.ASCII.GetString(dsdt[..4]));
        Assert.Equal(0, Sum(dsdt));
        Assert.Equal(0x600u, BinaryPrimitives.ReadUInt32LittleEndian(fadt[56..])); // PM1a event block
        Assert.Equal(0x608u, BinaryPrimitives.ReadUInt32LittleEndian(fadt[76..])); // PM timer
        Assert.Equal(q35 ? 0x620u : 0xafe0u, BinaryPrimitives.ReadUInt32LittleEndian(fadt[80..]));
        Assert.Equal(AcpiTables.TablesPaddedSize, acpi.Tables.Length);
    }

    [Fact]
    public void TheDsdtDeclaresTheKeyboardAndMouseByEisaId()
    {
        Assert.Equal(0x0303d041u, AcpiAml.EisaId("PNP0303"));
        Assert.Equal(0x130fd041u, AcpiAml.EisaId("PNP0F13"));
        AcpiTables acpi = AcpiTables.Build(q35: false);
        (string _, int offset, int length) = acpi.Layout.Single(l => l.Signature == "DSDT");
        byte[] dsdt = acpi.Tables.AsSpan(offset, length).ToArray();
        Assert.True(Contains(dsdt, BitConverter.GetBytes(0x0303d041u)));
        Assert.True(Contains(dsdt, BitConverter.GetBytes(0x130fd041u)));
        Assert.Throws<ArgumentException>(() => AcpiAml.EisaId("pnp0303"));
    }

    [Fact]
    public void ALongFileNameIsRefused()
        => Assert.Throws<ArgumentException>(() => new BiosLinkerLoader().Allocate(new string('x', 56), 16, BiosLinkerLoader.ZoneHigh));

    /// <summary>Runs the loader's commands as firmware does.</summary>
    private static Dictionary<string, (byte[] Data, uint Address)> Execute(AcpiTables acpi)
    {
        var source = new Dictionary<string, byte[]>
        {
            [AcpiTables.TablesFile] = (byte[])acpi.Tables.Clone(),
            [AcpiTables.RsdpFile] = (byte[])acpi.Rsdp.Clone(),
        };
        var placed = new Dictionary<string, (byte[] Data, uint Address)>();
        byte[] loader = acpi.Loader;
        Assert.Equal(0, loader.Length % BiosLinkerLoader.EntrySize);
        static string Name(ReadOnlySpan<byte> e) => Encoding.ASCII.GetString(e[..56]).TrimEnd('\0');
        for (int at = 0; at < loader.Length; at += BiosLinkerLoader.EntrySize)
        {
            ReadOnlySpan<byte> e = loader.AsSpan(at, BiosLinkerLoader.EntrySize);
            switch (BinaryPrimitives.ReadUInt32LittleEndian(e))
            {
                case 1:
                    string file = Name(e[4..]);
                    byte zone = e[64];
                    placed[file] = (source[file], zone == BiosLinkerLoader.ZoneFSeg ? RsdpAt : TablesAt);
                    Assert.Equal(0u, placed[file].Address % BinaryPrimitives.ReadUInt32LittleEndian(e[60..]));
                    break;
                case 2:
                    byte[] dest = placed[Name(e[4..])].Data;
                    uint src = placed[Name(e[60..])].Address;
                    int offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[116..]);
                    Assert.Equal(4, e[120]);
                    BinaryPrimitives.WriteUInt32LittleEndian(dest.AsSpan(offset), BinaryPrimitives.ReadUInt32LittleEndian(dest.AsSpan(offset)) + src);
                    break;
                case 3:
                    byte[] data = placed[Name(e[4..])].Data;
                    int sumAt = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[60..]);
                    int start = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[64..]);
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[68..]);
                    data[sumAt] = 0;
                    data[sumAt] = (byte)-Sum(data.AsSpan(start, length));
                    break;
                default:
                    Assert.Fail($"unknown loader command at {at}");
                    break;
            }
        }
        return placed;
    }

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte s = 0;
        foreach (byte b in bytes)
        {
            s += b;
        }
        return s;
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
