namespace Memspace.Core;

/// <summary>
/// Outcome of a memory transaction, with QEMU's bit values (<c>MEMTX_*</c> in
/// <c>include/exec/memattrs.h</c>). Results of a multi-part access are OR-combined.
/// </summary>
[Flags]
public enum MemTxResult : uint
{
    /// <summary><c>MEMTX_OK</c>: the access succeeded.</summary>
    Ok = 0,

    /// <summary><c>MEMTX_ERROR</c>: the device reported an error.</summary>
    Error = 1 << 0,

    /// <summary><c>MEMTX_DECODE_ERROR</c>: nothing at that address, or the access was rejected by the region.</summary>
    DecodeError = 1 << 1,

    /// <summary><c>MEMTX_ACCESS_ERROR</c>: the access was denied (attributes, re-entrancy guard).</summary>
    AccessError = 1 << 2,
}
