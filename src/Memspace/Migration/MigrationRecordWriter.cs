using System.Buffers.Binary;
using System.Diagnostics;

namespace Memspace.Migration;

/// <summary>
/// Writes framed records to a stream: type (u8), payload length (u32), payload, CRC-32C of the three.
/// Counts the bytes written and, with a bandwidth limit, sleeps so that no 100 ms window carries more
/// than its share.
/// </summary>
public sealed class MigrationRecordWriter
{
    private readonly Stream _stream;
    private readonly byte[] _frame = new byte[MigrationStream.FrameHeaderSize];
    private readonly long _bytesPerWindow;
    private long _windowStart;
    private long _windowBytes;
    private readonly List<long> _recordOffsets = [];

    /// <summary>Creates a writer.</summary>
    /// <param name="stream">Where the records go.</param>
    /// <param name="maxBytesPerSecond">Bandwidth limit, or 0 for none.</param>
    public MigrationRecordWriter(Stream stream, long maxBytesPerSecond = 0)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytesPerSecond);
        _stream = stream;
        _bytesPerWindow = maxBytesPerSecond / 10;
        _windowStart = Stopwatch.GetTimestamp();
    }

    /// <summary>Bytes written so far (magic included).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Where each record started, in order (the magic is not a record).</summary>
    public IReadOnlyList<long> RecordOffsets => _recordOffsets;

    /// <summary>Writes the magic and the format version.</summary>
    /// <param name="version">The version to write; tests write others.</param>
    public void WriteStart(uint version = MigrationStream.Version)
    {
        Span<byte> start = stackalloc byte[12];
        MigrationStream.Magic.CopyTo(start);
        BinaryPrimitives.WriteUInt32LittleEndian(start[8..], version);
        Put(start);
    }

    /// <summary>Writes one record.</summary>
    /// <param name="type">Its kind.</param>
    /// <param name="payload">Its payload (at most <see cref="MigrationStream.MaxPayload"/> bytes).</param>
    public void Write(MigrationRecordType type, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MigrationStream.MaxPayload)
        {
            throw new ArgumentException($"a {type} record of {payload.Length} bytes exceeds the {MigrationStream.MaxPayload}-byte record limit", nameof(payload));
        }
        _recordOffsets.Add(BytesWritten);
        _frame[0] = (byte)type;
        BinaryPrimitives.WriteUInt32LittleEndian(_frame.AsSpan(1), (uint)payload.Length);
        uint crc = Crc32C.Append(Crc32C.Compute(_frame), payload);
        Span<byte> trailer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);
        Put(_frame);
        Put(payload);
        Put(trailer);
    }

    /// <summary>Pushes buffered bytes to the stream.</summary>
    public void Flush() => _stream.Flush();

    private void Put(ReadOnlySpan<byte> bytes)
    {
        if (_bytesPerWindow > 0)
        {
            Throttle(bytes.Length);
        }
        _stream.Write(bytes);
        BytesWritten += bytes.Length;
    }

    private void Throttle(int next)
    {
        while (true)
        {
            long now = Stopwatch.GetTimestamp();
            if (Stopwatch.GetElapsedTime(_windowStart, now) >= TimeSpan.FromMilliseconds(100))
            {
                _windowStart = now;
                _windowBytes = 0;
            }
            if (_windowBytes == 0 || _windowBytes + next <= _bytesPerWindow)
            {
                _windowBytes += next;
                return;
            }
            TimeSpan left = TimeSpan.FromMilliseconds(100) - Stopwatch.GetElapsedTime(_windowStart);
            if (left > TimeSpan.Zero)
            {
                Thread.Sleep(left);
            }
        }
    }
}
