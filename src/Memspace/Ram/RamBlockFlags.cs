namespace Memspace.Ram;

/// <summary>RAMBlock flags, with QEMU's values (<c>RAM_*</c> in <c>include/exec/memory.h</c>).</summary>
[Flags]
public enum RamBlockFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>RAM_PREALLOC</c>: the host memory was supplied by the caller.</summary>
    Preallocated = 1 << 0,

    /// <summary><c>RAM_SHARED</c>: mapped <c>MAP_SHARED</c>.</summary>
    Shared = 1 << 1,

    /// <summary><c>RAM_RESIZEABLE</c>: the used length may change up to the maximum length.</summary>
    Resizeable = 1 << 2,

    /// <summary><c>RAM_MIGRATABLE</c>: registered for migration (has an id string).</summary>
    Migratable = 1 << 4,

    /// <summary><c>RAM_PMEM</c>: persistent memory.</summary>
    Pmem = 1 << 5,

    /// <summary><c>RAM_NORESERVE</c>: no swap space reserved.</summary>
    NoReserve = 1 << 7,

    /// <summary><c>RAM_READONLY</c>: the mapping itself is read-only.</summary>
    ReadOnly = 1 << 10,
}
