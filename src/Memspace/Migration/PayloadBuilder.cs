using System.Buffers.Binary;
using System.Text;

namespace Memspace.Migration;

/// <summary>Builds a record payload: little-endian integers, strings (u16 length, UTF-8) and byte blobs (u32 length).</summary>
internal sealed class PayloadBuilder
{
    private byte[] _buffer;

    public PayloadBuilder(int capacity = 256) => _buffer = new byte[capacity];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public void Reset() => Length = 0;

    public Span<byte> Reserve(int count)
    {
        if (Length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + count));
        }
        Span<byte> s = _buffer.AsSpan(Length, count);
        Length += count;
        return s;
    }

    public PayloadBuilder U8(byte v)
    {
        Reserve(1)[0] = v;
        return this;
    }

    public PayloadBuilder U32(uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Reserve(4), v);
        return this;
    }

    public PayloadBuilder U64(ulong v)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), v);
        return this;
    }

    public PayloadBuilder I64(long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), v);
        return this;
    }

    public PayloadBuilder Str(string s)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        if (n > ushort.MaxValue)
        {
            throw new ArgumentException($"string of {n} bytes is too long for a migration record (at most 65535)", nameof(s));
        }
        BinaryPrimitives.WriteUInt16LittleEndian(Reserve(2), (ushort)n);
        Encoding.UTF8.GetBytes(s, Reserve(n));
        return this;
    }

    public PayloadBuilder Blob(ReadOnlySpan<byte> data)
    {
        U32((uint)data.Length);
        data.CopyTo(Reserve(data.Length));
        return this;
    }
}
