using System.Buffers.Binary;

namespace Memspace.Migration;

/// <summary>
/// Reads framed records (see <see cref="MigrationRecordWriter"/>) from an untrusted stream. Every
/// defect is a <see cref="MigrationException"/> that names the record (its index, type and offset):
/// a wrong magic or version, a length over <see cref="MigrationStream.MaxPayload"/>, an unknown type,
/// a CRC mismatch, or the stream ending anywhere but after a complete record.
/// </summary>
public sealed class MigrationRecordReader
{
    private readonly Stream _stream;
    private readonly string _source;
    private long _index;

    /// <summary>Creates a reader.</summary>
    /// <param name="stream">Where the records come from.</param>
    /// <param name="source">What the stream is, for messages ("migration stream", "snapshot state file state.bin").</param>
    public MigrationRecordReader(Stream stream, string source = "migration stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _source = source;
    }

    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Reads and checks the magic and the version.</summary>
    /// <exception cref="MigrationException">Not a Memspace stream, or another version.</exception>
    public void ReadStart()
    {
        Span<byte> start = stackalloc byte[12];
        int got = Fill(start);
        if (got < 8)
        {
            throw new MigrationException($"{_source} is truncated: it ends after {got} bytes, inside its magic");
        }
        if (!start[..8].SequenceEqual(MigrationStream.Magic))
        {
            throw new MigrationException($"{_source} has bad magic {Convert.ToHexString(start[..8])}: it is not a Memspace migration stream");
        }
        if (got < 12)
        {
            throw new MigrationException($"{_source} is truncated: it ends after {got} bytes, inside its format version");
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(start[8..]);
        if (version != MigrationStream.Version)
        {
            throw new MigrationException($"{_source} has format version {version}; this Memspace reads version {MigrationStream.Version}");
        }
    }

    /// <summary>Reads the next record, checking its frame and CRC.</summary>
    /// <exception cref="MigrationException">Truncated, oversized, unknown or corrupted record.</exception>
    public MigrationRecord Read()
    {
        long offset = BytesRead;
        long index = _index;
        Span<byte> frame = stackalloc byte[MigrationStream.FrameHeaderSize];
        int got = Fill(frame);
        if (got == 0)
        {
            throw new MigrationException($"{_source} is truncated: it ends at byte {offset} before record {index} (the stream had no end record)");
        }
        if (got < frame.Length)
        {
            throw new MigrationException($"{_source} is truncated: it ends inside the frame of record {index} at byte {offset}");
        }
        byte rawType = frame[0];
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(frame[1..]);
        string name = Enum.IsDefined((MigrationRecordType)rawType) ? ((MigrationRecordType)rawType).ToString() : $"type {rawType}";
        if (length > MigrationStream.MaxPayload)
        {
            throw new MigrationException($"{_source}: record {index} ({name}) at byte {offset} claims {length} bytes of payload; at most {MigrationStream.MaxPayload} are allowed (corrupted length?)");
        }
        var payload = new byte[length];
        if (Fill(payload) < payload.Length)
        {
            throw new MigrationException($"{_source} is truncated: it ends inside the payload of record {index} ({name}) at byte {offset}");
        }
        Span<byte> trailer = stackalloc byte[4];
        if (Fill(trailer) < 4)
        {
            throw new MigrationException($"{_source} is truncated: it ends inside the checksum of record {index} ({name}) at byte {offset}");
        }
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        uint actual = Crc32C.Append(Crc32C.Compute(frame), payload);
        if (stored != actual)
        {
            throw new MigrationException($"{_source}: record {index} ({name}) at byte {offset} is corrupted: CRC-32C 0x{actual:x8} where 0x{stored:x8} was sent");
        }
        if (!Enum.IsDefined((MigrationRecordType)rawType))
        {
            throw new MigrationException($"{_source}: record {index} at byte {offset} has unknown type {rawType}");
        }
        _index++;
        return new MigrationRecord((MigrationRecordType)rawType, payload, index, offset);
    }

    private int Fill(Span<byte> buffer)
    {
        int n = _stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        BytesRead += n;
        return n;
    }
}
