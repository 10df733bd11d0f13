using System.Buffers.Binary;
using System.Text;
using Memspace.Machines.Firmware;

namespace Memspace.Tests.Firmware;

/// <summary>The SMBIOS files given to firmware, walked the way firmware and dmidecode walk them.</summary>
public class SmbiosTablesTests
{
    [Theory]
    [InlineData(512UL << 20, 0UL, new byte[] { 1, 3, 4, 16, 17, 19, 32, 127 })]
    [InlineData(2UL << 30, 2UL << 30, new byte[] { 1, 3, 4, 16, 17, 19, 19, 32, 127 })]
    [InlineData(3UL << 30, 29UL << 30, new byte[] { 1, 3, 4, 16, 17, 17, 19, 19, 32, 127 })]
    public void TheEntryPointDescribesTheStructuresThatFollow(ulong below, ulong above, byte[] types)
    {
        SmbiosTables s = SmbiosTables.Build("Standard PC (Q35 + ICH9, 2009)", "pc-q35-7.2", below, above);
        byte[] ep = s.Anchor;
        Assert.Equal(31, ep.Length);
        Assert.Equal("_SM_", Encoding.ASCII.GetString(ep, 0, 4));
        Assert.Equal("_DMI_", Encoding.ASCII.GetString(ep, 16, 5));
        Assert.Equal(0, Sum(ep));
        Assert.Equal(0, Sum(ep.AsSpan(16)));
        byte[] t = s.Tables;
        Assert.Equal(t.Length, BinaryPrimitives.ReadUInt16LittleEndian(ep.AsSpan(22)));
        var found = new List<byte>();
        var strings = new List<string>();
        int largest = 0;
        for (int at = 0; at < t.Length;)
        {
            int start = at;
            found.Add(t[at]);
            at += t[at + 1];
            int end = t.AsSpan(at).IndexOf((byte[])[0, 0]);
            Assert.True(end >= 0, "strings end with two zero bytes");
            strings.AddRange(Encoding.ASCII.GetString(t, at, end).Split('\0', StringSplitOptions.RemoveEmptyEntries));
            at += end + 2;
            largest = Math.Max(largest, at - start);
        }
        Assert.Equal(types, found);
        Assert.Equal(found.Count, BinaryPrimitives.ReadUInt16LittleEndian(ep.AsSpan(28)));
        Assert.Equal(largest, BinaryPrimitives.ReadUInt16LittleEndian(ep.AsSpan(8)));
        Assert.Contains("Standard PC (Q35 + ICH9, 2009)", strings);
        Assert.Contains("DIMM 0", strings);
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
}
