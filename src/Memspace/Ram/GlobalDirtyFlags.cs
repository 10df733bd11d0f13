namespace Memspace.Ram;

/// <summary>Reasons for global dirty tracking (QEMU's <c>GLOBAL_DIRTY_*</c>).</summary>
[Flags]
public enum GlobalDirtyFlags : uint
{
    /// <summary>No global tracking.</summary>
    None = 0,

    /// <summary>Live migration.</summary>
    Migration = 1 << 0,

    /// <summary>Dirty-rate measurement.</summary>
    DirtyRate = 1 << 1,

    /// <summary>Dirty-page rate limiting.</summary>
    Limit = 1 << 2,

    /// <summary>Every reason.</summary>
    All = Migration | DirtyRate | Limit,
}
