namespace Memspace.Migration;

/// <summary>The kinds of record in a migration stream or a snapshot's state file (see docs/MIGRATION.md).</summary>
public enum MigrationRecordType : byte
{
    /// <summary>The machine: name, options, RAM size, RAMBlocks, vCPU count, devices. Always first.</summary>
    Header = 1,

    /// <summary>Consecutive target pages of one RAMBlock, with their contents.</summary>
    Pages = 2,

    /// <summary>A run of target pages of one RAMBlock that are all zero (a marker, no contents).</summary>
    ZeroPages = 3,

    /// <summary>The end of a pre-copy round (its number), so that the destination can count rounds.</summary>
    RoundEnd = 4,

    /// <summary>The guest clock (kvmclock), opaque to the stream.</summary>
    Clock = 5,

    /// <summary>One vCPU's state (a serialized <c>VcpuState</c>), opaque to the stream.</summary>
    Vcpu = 6,

    /// <summary>One device's registers: state name, layout version, fields.</summary>
    Device = 7,

    /// <summary>What the source's memory map and KVM slots are, for the destination to compare after loading.</summary>
    MapDigest = 8,

    /// <summary>The end of the stream.</summary>
    End = 9,

    /// <summary>Destination to source: the guest runs on the destination (with the time it started, a monotonic timestamp).</summary>
    Running = 16,

    /// <summary>Destination to source: the stream was refused, with the reason.</summary>
    Refused = 17,
}
