namespace Memspace.Migration;

/// <summary>One RAMBlock's file in a snapshot, as the manifest lists it.</summary>
/// <param name="IdStr">The RAMBlock's id.</param>
/// <param name="UsedLength">Its bytes in use (the file's length).</param>
/// <param name="File">The file name inside the snapshot directory.</param>
/// <param name="Crc32C">The file's checksum: the CRC-32C of its chunk checksums (little-endian u32s, in order).</param>
/// <param name="Chunks">The CRC-32C of each <see cref="SnapshotManifest.ChunkSize"/> chunk (the last may be shorter).</param>
public sealed record SnapshotBlockFile(string IdStr, ulong UsedLength, string File, uint Crc32C, IReadOnlyList<uint> Chunks);
