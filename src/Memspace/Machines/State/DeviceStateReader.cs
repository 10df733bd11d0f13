using System.Buffers.Binary;
using System.Text;

namespace Memspace.Machines.State;

/// <summary>
/// Reads one device's saved state written by <see cref="DeviceStateWriter"/>. Every read names the
/// field it expects; a missing, renamed, mistyped or truncated field throws a
/// <see cref="DeviceStateException"/> naming the device and the field, never anything else.
/// </summary>
public sealed class DeviceStateReader
{
    private readonly byte[] _data;
    private int _offset;

    /// <summary>Creates a reader over one device's saved bytes.</summary>
    /// <param name="device">The device's <see cref="IDeviceState.StateName"/>, for messages.</param>
    /// <param name="version">The layout version the state was saved with.</param>
    /// <param name="data">The saved bytes.</param>
    public DeviceStateReader(string device, int version, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(data);
        Device = device;
        Version = version;
        _data = data;
    }

    /// <summary>The device the state belongs to.</summary>
    public string Device { get; }

    /// <summary>The layout version the state was saved with.</summary>
    public int Version { get; }

    /// <summary>Whether every field has been read.</summary>
    public bool AtEnd => _offset == _data.Length;

    /// <summary>Reads an 8-bit field.</summary>
    /// <param name="name">The field's name.</param>
    public byte ReadU8(string name) => Value(name, DeviceStateFieldType.U8, 1)[0];

    /// <summary>Reads a 16-bit field.</summary>
    /// <param name="name">The field's name.</param>
    public ushort ReadU16(string name) => BinaryPrimitives.ReadUInt16LittleEndian(Value(name, DeviceStateFieldType.U16, 2));

    /// <summary>Reads a 32-bit field.</summary>
    /// <param name="name">The field's name.</param>
    public uint ReadU32(string name) => BinaryPrimitives.ReadUInt32LittleEndian(Value(name, DeviceStateFieldType.U32, 4));

    /// <summary>Reads a 64-bit field.</summary>
    /// <param name="name">The field's name.</param>
    public ulong ReadU64(string name) => BinaryPrimitives.ReadUInt64LittleEndian(Value(name, DeviceStateFieldType.U64, 8));

    /// <summary>Reads a signed 64-bit field.</summary>
    /// <param name="name">The field's name.</param>
    public long ReadI64(string name) => BinaryPrimitives.ReadInt64LittleEndian(Value(name, DeviceStateFieldType.I64, 8));

    /// <summary>Reads a boolean field (0 or 1).</summary>
    /// <param name="name">The field's name.</param>
    public bool ReadBool(string name)
    {
        byte b = Value(name, DeviceStateFieldType.Bool, 1)[0];
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw Fail($"field '{name}' is a boolean but holds {b}"),
        };
    }

    /// <summary>Reads a byte-string field of any length up to <paramref name="maxLength"/>.</summary>
    /// <param name="name">The field's name.</param>
    /// <param name="maxLength">The longest string the device accepts.</param>
    public byte[] ReadBytes(string name, int maxLength)
    {
        uint saved = BinaryPrimitives.ReadUInt32LittleEndian(Value(name, DeviceStateFieldType.Bytes, 4));
        if (saved > (uint)maxLength)
        {
            throw Fail($"field '{name}' is {saved} bytes long; at most {maxLength} are allowed");
        }
        int length = (int)saved;
        if (_data.Length - _offset < length)
        {
            throw Fail($"field '{name}' is cut short");
        }
        byte[] result = _data.AsSpan(_offset, length).ToArray();
        _offset += length;
        return result;
    }

    /// <summary>Reads a byte-string field that must be exactly as long as <paramref name="destination"/>, into it.</summary>
    /// <param name="name">The field's name.</param>
    /// <param name="destination">Receives the bytes; its length is the length required.</param>
    public void ReadBytes(string name, Span<byte> destination)
    {
        byte[] bytes = ReadBytes(name, destination.Length);
        if (bytes.Length != destination.Length)
        {
            throw Fail($"field '{name}' is {bytes.Length} bytes long; {destination.Length} are required");
        }
        bytes.CopyTo(destination);
    }

    /// <summary>Throws unless the state was saved with layout version <paramref name="supported"/> (the device's <see cref="IDeviceState.StateVersion"/>).</summary>
    /// <param name="supported">The version the device loads.</param>
    public void EnsureVersion(int supported)
    {
        if (Version != supported)
        {
            throw Fail($"state version {Version} is not supported; this device loads version {supported}");
        }
    }

    /// <summary>Reads an 8-bit field that must be at most <paramref name="max"/>.</summary>
    /// <param name="name">The field's name.</param>
    /// <param name="max">The largest value the register holds.</param>
    public byte ReadU8(string name, byte max)
    {
        byte v = ReadU8(name);
        if (v > max)
        {
            throw Fail($"field '{name}' is {v}; at most {max} is allowed");
        }
        return v;
    }

    /// <summary>Throws unless every field has been read.</summary>
    public void EnsureEnd()
    {
        if (!AtEnd)
        {
            throw Fail($"{_data.Length - _offset} bytes are left after the last field this device reads");
        }
    }

    /// <summary>An exception naming this device, for a value the device refuses.</summary>
    /// <param name="problem">What is wrong.</param>
    public DeviceStateException Fail(string problem) => new($"device '{Device}' (state version {Version}): {problem}");

    private ReadOnlySpan<byte> Value(string name, DeviceStateFieldType type, int size)
    {
        if (_offset >= _data.Length)
        {
            throw Fail($"field '{name}' is missing: the state ends before it");
        }
        int nameLength = _data[_offset];
        if (_data.Length - _offset < 1 + nameLength + 1)
        {
            throw Fail($"field '{name}' is cut short");
        }
        string found = Encoding.ASCII.GetString(_data, _offset + 1, nameLength);
        if (found != name)
        {
            throw Fail($"expected field '{name}', found '{found}'");
        }
        var foundType = (DeviceStateFieldType)_data[_offset + 1 + nameLength];
        if (foundType != type)
        {
            throw Fail($"field '{name}' is saved as {foundType}; {type} is expected");
        }
        int start = _offset + 1 + nameLength + 1;
        if (_data.Length - start < size)
        {
            throw Fail($"field '{name}' is cut short");
        }
        _offset = start + size;
        return _data.AsSpan(start, size);
    }
}
