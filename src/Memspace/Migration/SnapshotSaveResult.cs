namespace Memspace.Migration;

/// <summary>What saving a snapshot wrote and took.</summary>
/// <param name="Directory">The snapshot directory.</param>
/// <param name="RamBytes">Bytes of RAM in the blocks saved.</param>
/// <param name="DataBytes">Bytes of non-zero pages written (the rest are holes).</param>
/// <param name="Time">How long it took, guest paused.</param>
public sealed record SnapshotSaveResult(string Directory, ulong RamBytes, ulong DataBytes, TimeSpan Time)
{
    /// <inheritdoc/>
    public override string ToString()
        => $"snapshot: {Directory}: {RamBytes / 1048576.0:F0} MiB of RAM, {DataBytes / 1048576.0:F1} MiB of it non-zero and written, in {Time.TotalMilliseconds:F1} ms";
}
