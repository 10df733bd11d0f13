namespace Memspace.Migration;

/// <summary>One record read from a stream: its kind, its payload (CRC already checked) and where it started.</summary>
/// <param name="Type">The kind.</param>
/// <param name="Payload">The payload.</param>
/// <param name="Index">Its place in the stream (0 is the header).</param>
/// <param name="Offset">Byte offset of the record in the stream.</param>
public readonly record struct MigrationRecord(MigrationRecordType Type, byte[] Payload, long Index, long Offset);
