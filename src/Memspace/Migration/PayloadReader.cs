using System.Buffers.Binary;
using System.Text;

namespace Memspace.Migration;

/// <summary>Reads a record payload written by <see cref="PayloadBuilder"/>; anything short or malformed throws a <see cref="MigrationException"/> naming the record and field.</summary>
internal ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _what;
    private int _offset;

    public PayloadReader(ReadOnlySpan<byte> data, string what)
    {
        _data = data;
        _what = what;
        _offset = 0;
    }

    public readonly int Remaining => _data.Length - _offset;

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count < 0 || count > Remaining)
        {
            throw new MigrationException($"{_what}: the payload ends inside its {field} (needs {count} bytes, {Remaining} left)");
        }
        ReadOnlySpan<byte> s = _data.Slice(_offset, count);
        _offset += count;
        return s;
    }

    public byte U8(string field) => Take(1, field)[0];

    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

    public long I64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));

    public string Str(string field)
    {
        int n = BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field + " length"));
        ReadOnlySpan<byte> bytes = Take(n, field);
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new MigrationException($"{_what}: its {field} is not valid UTF-8");
        }
    }

    public ReadOnlySpan<byte> Blob(string field)
    {
        uint n = U32(field + " length");
        return Take(n > int.MaxValue ? -1 : (int)n, field);
    }

    public ReadOnlySpan<byte> Rest() => Take(Remaining, "rest");

    public readonly void End()
    {
        if (Remaining != 0)
        {
            throw new MigrationException($"{_what}: {Remaining} unexpected bytes after its last field");
        }
    }
}
