using System.Buffers.Binary;
using System.Text;
using Memspace.Machines.Devices;
using Memspace.Machines.Firmware;
using Memspace.Tests.Devices;

namespace Memspace.Tests.Firmware;

/// <summary>fw_cfg through its ports and its DMA interface, with the items QEMU gives SeaBIOS.</summary>
public class FwCfgTests
{
    private static byte[] ReadItem(PortBench b, ushort key, int length)
    {
        b.Out16(0x510, key);
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = b.In8(0x511);
        }
        return bytes;
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    public void SignatureIdAndFileDirectoryReadThroughThePorts(string machine)
    {
        using var b = new PortBench(machine);
        Assert.Equal("QEMU", Encoding.ASCII.GetString(ReadItem(b, FwCfg.KeySignature, 4)));
        Assert.Equal(3u, BitConverter.ToUInt32(ReadItem(b, FwCfg.KeyId, 4)));
        byte[] count = ReadItem(b, FwCfg.KeyFileDir, 4);
        int n = (int)BinaryPrimitives.ReadUInt32BigEndian(count);
        var names = new List<string>();
        for (int i = 0; i < n; i++)
        {
            byte[] e = new byte[64];
            for (int j = 0; j < 64; j++)
            {
                e[j] = b.In8(0x511);
            }
            names.Add(Encoding.ASCII.GetString(e, 8, 56).TrimEnd('\0'));
            Assert.Equal(FwCfg.FirstFileKey + i, BinaryPrimitives.ReadUInt16BigEndian(e.AsSpan(4)));
        }
        Assert.Equal(["bootorder", "etc/acpi/rsdp", "etc/acpi/tables", "etc/boot-fail-wait", "etc/e820", "etc/smbios/smbios-anchor", "etc/smbios/smbios-tables", "etc/system-states", "etc/table-loader"], names);
        Assert.Equal(1, BitConverter.ToUInt16(ReadItem(b, FwCfg.KeyNbCpus, 2)));
        Assert.Equal(0, ReadItem(b, 0x7777, 2)[0]); // an absent item reads 0
    }

    [Fact]
    public void DmaReadsE820IntoGuestMemoryAndClearsTheControlWord()
    {
        using var b = new PortBench("q35");
        const ulong desc = 0x1000, buffer = 0x2000;
        ushort key = b.Machine.Platform!.FwCfg.FileKey("etc/e820")!.Value;
        var d = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(d, ((uint)key << 16) | 0x08 | 0x02); // select + read
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), 60);
        BinaryPrimitives.WriteUInt64BigEndian(d.AsSpan(8), buffer);
        Assert.Equal(MemTxResult.Ok, b.Machine.Memory.Write(desc, d));
        Assert.Equal(0x51454d55u, BinaryPrimitives.ReverseEndianness(b.In32(0x514))); // "QEMU"
        b.Out32(0x514, 0);
        b.Out32(0x518, BinaryPrimitives.ReverseEndianness((uint)desc));
        var back = new byte[4];
        b.Machine.Memory.Read(desc, back);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(back));
        var e820 = new byte[60];
        b.Machine.Memory.Read(buffer, e820);
        Assert.Equal(E820Table.ForPc(512UL << 20, 0, kvm: true).ToBytes(), e820);
        Assert.Equal(E820Table.KvmIdentityMapAddress, BitConverter.ToUInt64(e820, 0));
        Assert.Equal(512UL << 20, BitConverter.ToUInt64(e820, 28));
    }

    [Fact]
    public void DmaWritesAreRefusedWithTheErrorBit()
    {
        using var b = new PortBench("pc");
        var d = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(d, 0x10); // write
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(4), 4);
        b.Machine.Memory.Write(0x3000, d);
        b.Out32(0x518, BinaryPrimitives.ReverseEndianness(0x3000u));
        var back = new byte[4];
        b.Machine.Memory.Read(0x3000, back);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(back));
    }

    [Fact]
    public void E820OfA4GiBPcHasRamAboveFourGiB()
    {
        var t = E820Table.ForPc(3UL << 30, 1UL << 30, kvm: false);
        Assert.Equal([(0UL, 3UL << 30, E820Table.Ram), (1UL << 32, 1UL << 30, E820Table.Ram), (E820Table.AmdHtStart, 0x300000000UL, E820Table.Reserved)], t.Entries);
    }

    [Fact]
    public void SeaBiosArgumentResolvesDebiansImageOrSaysHowToInstallIt()
    {
        byte[]? image = SeaBios.Load("seabios", out string? error);
        if (File.Exists(SeaBios.DebianImage))
        {
            Assert.Equal(256 * 1024, image!.Length);
        }
        else
        {
            Assert.Contains("apt-get install seabios", error, StringComparison.Ordinal);
        }
        Assert.Null(SeaBios.Load("/nonexistent/bios.bin", out string? why));
        Assert.Contains("cannot read firmware '/nonexistent/bios.bin'", why, StringComparison.Ordinal);
    }
}
