namespace Memspace.Migration;

/// <summary>Constants of the migration stream format (docs/MIGRATION.md).</summary>
public static class MigrationStream
{
    /// <summary>The 8 bytes every stream and state file starts with.</summary>
    public static ReadOnlySpan<byte> Magic => "MSMIGRAT"u8;

    /// <summary>The format version this Memspace writes and reads (a little-endian u32 after the magic).</summary>
    public const uint Version = 1;

    /// <summary>Bytes of a record's frame before its payload: type (u8) and payload length (u32).</summary>
    public const int FrameHeaderSize = 5;

    /// <summary>Bytes after the payload: the CRC-32C of type, length and payload.</summary>
    public const int FrameTrailerSize = 4;

    /// <summary>The largest payload a reader accepts (4 MiB); larger lengths are refused before anything is allocated.</summary>
    public const int MaxPayload = 4 << 20;

    /// <summary>Most target pages in one <see cref="MigrationRecordType.Pages"/> record (1 MiB of 4 KiB pages).</summary>
    public const int MaxPagesPerRecord = 256;
}
