using Memspace.Machines;

namespace Memspace.Migration;

/// <summary>How <see cref="Snapshot.Restore"/> brings a snapshot back.</summary>
public sealed record SnapshotRestoreOptions
{
    /// <summary>Options the snapshot does not decide (accelerator, KVM device, timeline); the machine's shape comes from the manifest.</summary>
    public MachineOptions BaseOptions { get; init; } = new();

    /// <summary>Copy every RAM file into anonymous memory instead of mapping the RAM backend's file copy-on-write (lazily).</summary>
    public bool Copy { get; init; }

    /// <summary>Check every chunk of every RAM file against the manifest before using it (reads all of them).</summary>
    public bool Verify { get; init; }
}
