using System.Runtime.Intrinsics.X86;

namespace Memspace.Migration;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every migration record and
/// snapshot chunk. Uses the SSE 4.2 <c>crc32</c> instruction where the CPU has it, a table otherwise;
/// both give the same value (the check value of "123456789" is 0xE3069283).
/// </summary>
public static class Crc32C
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    /// <param name="data">The bytes.</param>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues <paramref name="crc"/> (a value <see cref="Compute"/> returned) over <paramref name="data"/>.</summary>
    /// <param name="crc">The CRC of what came before.</param>
    /// <param name="data">The next bytes.</param>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = ~crc;
        if (Sse42.X64.IsSupported)
        {
            ulong c64 = c;
            while (data.Length >= 8)
            {
                c64 = Sse42.X64.Crc32(c64, BitConverter.ToUInt64(data));
                data = data[8..];
            }
            c = (uint)c64;
            foreach (byte b in data)
            {
                c = Sse42.Crc32(c, b);
            }
            return ~c;
        }
        foreach (byte b in data)
        {
            c = Table[(c ^ b) & 0xff] ^ (c >> 8);
        }
        return ~c;
    }

    /// <summary>The table-driven result, independent of the CPU (for tests that compare both paths).</summary>
    /// <param name="data">The bytes.</param>
    internal static uint ComputeWithTable(ReadOnlySpan<byte> data)
    {
        uint c = uint.MaxValue;
        foreach (byte b in data)
        {
            c = Table[(c ^ b) & 0xff] ^ (c >> 8);
        }
        return ~c;
    }

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78 ^ (c >> 1) : c >> 1;
            }
            t[i] = c;
        }
        return t;
    }
}
