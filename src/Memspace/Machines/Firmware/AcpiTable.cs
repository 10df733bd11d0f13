using System.Buffers.Binary;
using System.Text;

namespace Memspace.Machines.Firmware;

/// <summary>
/// One ACPI system description table being built: the 36-byte standard header (signature, length,
/// revision, checksum, OEM fields "BOCHS "/"BXPC" as QEMU writes them) followed by its body.
/// </summary>
public sealed class AcpiTable
{
    /// <summary>Size of the standard header.</summary>
    public const int HeaderSize = 36;

    /// <summary>Offset of the checksum byte in the header.</summary>
    public const int ChecksumOffset = 9;

    private readonly List<byte> _bytes = [];

    /// <summary>Starts a table with its header (length and checksum are filled by <see cref="ToArray"/>).</summary>
    /// <param name="signature">Four ASCII characters.</param>
    /// <param name="revision">Table revision.</param>
    public AcpiTable(string signature, byte revision)
    {
        if (signature.Length != 4)
        {
            throw new ArgumentException("an ACPI signature has four characters", nameof(signature));
        }
        Bytes(Encoding.ASCII.GetBytes(signature));
        U32(0); // length
        U8(revision);
        U8(0); // checksum
        Bytes(Encoding.ASCII.GetBytes("BOCHS "));
        Bytes(Encoding.ASCII.GetBytes("BXPC" + signature));
        U32(1); // OEM revision
        Bytes(Encoding.ASCII.GetBytes("BXPC"));
        U32(1); // creator revision
    }

    /// <summary>Bytes so far.</summary>
    public int Length => _bytes.Count;

    /// <summary>Appends a byte.</summary>
    /// <param name="value">Value.</param>
    public void U8(byte value) => _bytes.Add(value);

    /// <summary>Appends a little-endian 16-bit value.</summary>
    /// <param name="value">Value.</param>
    public void U16(ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        Bytes(b);
    }

    /// <summary>Appends a little-endian 32-bit value.</summary>
    /// <param name="value">Value.</param>
    public void U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Bytes(b);
    }

    /// <summary>Appends a little-endian 64-bit value.</summary>
    /// <param name="value">Value.</param>
    public void U64(ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        Bytes(b);
    }

    /// <summary>Appends bytes.</summary>
    /// <param name="bytes">The bytes.</param>
    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            _bytes.Add(b);
        }
    }

    /// <summary>Appends a Generic Address Structure for a system I/O register block.</summary>
    /// <param name="bitWidth">Register width in bits.</param>
    /// <param name="port">I/O port.</param>
    public void IoAddress(byte bitWidth, ushort port)
    {
        U8(1); // system I/O
        U8(bitWidth);
        U8(0); // bit offset
        U8(0); // access size: undefined (legacy)
        U64(port);
    }

    /// <summary>The finished table: length set and checksum so that all bytes sum to zero.</summary>
    public byte[] ToArray()
    {
        byte[] t = [.. _bytes];
        BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(4), (uint)t.Length);
        t[ChecksumOffset] = 0;
        t[ChecksumOffset] = Checksum(t);
        return t;
    }

    /// <summary>The byte that makes <paramref name="bytes"/> sum to zero (mod 256).</summary>
    /// <param name="bytes">The bytes, with their checksum byte zero.</param>
    public static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }
        return (byte)-sum;
    }
}
