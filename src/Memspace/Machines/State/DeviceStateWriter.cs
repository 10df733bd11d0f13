using System.Buffers.Binary;
using System.Text;

namespace Memspace.Machines.State;

/// <summary>
/// Writes one device's saved state as a sequence of named, typed fields (little-endian), so that a
/// reader can say exactly which field of which device does not match.
/// Layout of a field: name length (u8), name (ASCII), type (<see cref="DeviceStateFieldType"/>), value;
/// a byte string's value is its length (u32) and its bytes.
/// </summary>
public sealed class DeviceStateWriter
{
    private readonly MemoryStream _buffer = new();

    /// <summary>The bytes written so far.</summary>
    public byte[] ToArray() => _buffer.ToArray();

    /// <summary>Writes an 8-bit field.</summary>
    /// <param name="name">Field name (1-255 ASCII characters).</param>
    /// <param name="value">Value.</param>
    public void WriteU8(string name, byte value)
    {
        Header(name, DeviceStateFieldType.U8);
        _buffer.WriteByte(value);
    }

    /// <summary>Writes a 16-bit field.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">Value.</param>
    public void WriteU16(string name, ushort value)
    {
        Header(name, DeviceStateFieldType.U16);
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        _buffer.Write(b);
    }

    /// <summary>Writes a 32-bit field.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">Value.</param>
    public void WriteU32(string name, uint value)
    {
        Header(name, DeviceStateFieldType.U32);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _buffer.Write(b);
    }

    /// <summary>Writes a 64-bit field.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">Value.</param>
    public void WriteU64(string name, ulong value)
    {
        Header(name, DeviceStateFieldType.U64);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        _buffer.Write(b);
    }

    /// <summary>Writes a signed 64-bit field.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">Value.</param>
    public void WriteI64(string name, long value)
    {
        Header(name, DeviceStateFieldType.I64);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        _buffer.Write(b);
    }

    /// <summary>Writes a boolean field.</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">Value.</param>
    public void WriteBool(string name, bool value)
    {
        Header(name, DeviceStateFieldType.Bool);
        _buffer.WriteByte(value ? (byte)1 : (byte)0);
    }

    /// <summary>Writes a byte-string field (a register file, a FIFO, a configuration space).</summary>
    /// <param name="name">Field name.</param>
    /// <param name="value">The bytes.</param>
    public void WriteBytes(string name, ReadOnlySpan<byte> value)
    {
        Header(name, DeviceStateFieldType.Bytes);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)value.Length);
        _buffer.Write(b);
        _buffer.Write(value);
    }

    private void Header(string name, DeviceStateFieldType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 255 || !Ascii.IsValid(name))
        {
            throw new ArgumentException($"field name '{name}' must be 1-255 ASCII characters", nameof(name));
        }
        _buffer.WriteByte((byte)name.Length);
        _buffer.Write(Encoding.ASCII.GetBytes(name));
        _buffer.WriteByte((byte)type);
    }
}
