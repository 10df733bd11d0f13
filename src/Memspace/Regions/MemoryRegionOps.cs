using Memspace.Core;

namespace Memspace.Regions;

/// <summary>Reads <paramref name="size"/> bytes at <paramref name="address"/> (relative to the region).</summary>
public delegate ulong MemoryRegionReadHandler(ulong address, uint size);

/// <summary>Writes <paramref name="size"/> bytes of <paramref name="data"/> at <paramref name="address"/> (relative to the region).</summary>
public delegate void MemoryRegionWriteHandler(ulong address, ulong data, uint size);

/// <summary>Reads with transaction attributes and a result (QEMU's <c>read_with_attrs</c>).</summary>
public delegate MemTxResult MemoryRegionReadWithAttrsHandler(ulong address, out ulong data, uint size, MemTxAttrs attrs);

/// <summary>Writes with transaction attributes and a result (QEMU's <c>write_with_attrs</c>).</summary>
public delegate MemTxResult MemoryRegionWriteWithAttrsHandler(ulong address, ulong data, uint size, MemTxAttrs attrs);

/// <summary>Decides whether the device accepts an access (QEMU's <c>valid.accepts</c>).</summary>
public delegate bool MemoryRegionAcceptsHandler(ulong address, uint size, bool isWrite, MemTxAttrs attrs);

/// <summary>
/// What the modelled device accepts from the guest (QEMU's <c>MemoryRegionOps.valid</c>).
/// An access outside these constraints is rejected with <see cref="MemTxResult.DecodeError"/>.
/// </summary>
public readonly record struct ValidAccess
{
    /// <summary>Smallest access the device accepts; 0 means no lower bound.</summary>
    public uint MinAccessSize { get; init; }

    /// <summary>Largest access the device accepts; 0 means "any size" (and counts as 4 when the core cuts a bulk access).</summary>
    public uint MaxAccessSize { get; init; }

    /// <summary>Whether accesses that are not aligned to their size are accepted.</summary>
    public bool Unaligned { get; init; }

    /// <summary>Optional per-access check; <see langword="false"/> rejects the access.</summary>
    public MemoryRegionAcceptsHandler? Accepts { get; init; }
}

/// <summary>
/// What the callbacks implement (QEMU's <c>MemoryRegionOps.impl</c>); the core splits wider
/// accesses and widens narrower ones to fit.
/// </summary>
public readonly record struct ImplAccess
{
    /// <summary>Smallest size the callbacks implement; 0 means 1.</summary>
    public uint MinAccessSize { get; init; }

    /// <summary>Largest size the callbacks implement; 0 means 4.</summary>
    public uint MaxAccessSize { get; init; }

    /// <summary>Whether the callbacks handle unaligned accesses (affects how bulk accesses are cut).</summary>
    public bool Unaligned { get; init; }
}

/// <summary>
/// Callbacks and access rules of an I/O (MMIO or port) region or a ROM device
/// (QEMU's <c>MemoryRegionOps</c>).
/// </summary>
public sealed class MemoryRegionOps
{
    /// <summary>
    /// The operations of a region without a device: every access is rejected
    /// (QEMU's <c>unassigned_mem_ops</c>: reads return 0 with <see cref="MemTxResult.DecodeError"/>).
    /// </summary>
    public static MemoryRegionOps Unassigned { get; } = new()
    {
        Valid = new ValidAccess { Accepts = static (_, _, _, _) => false },
    };

    /// <summary>Plain read callback; used when <see cref="ReadWithAttrs"/> is not set.</summary>
    public MemoryRegionReadHandler? Read { get; init; }

    /// <summary>Plain write callback; used when <see cref="WriteWithAttrs"/> is not set.</summary>
    public MemoryRegionWriteHandler? Write { get; init; }

    /// <summary>Read callback with attributes; takes precedence over <see cref="Read"/>.</summary>
    public MemoryRegionReadWithAttrsHandler? ReadWithAttrs { get; init; }

    /// <summary>Write callback with attributes; takes precedence over <see cref="Write"/>.</summary>
    public MemoryRegionWriteWithAttrsHandler? WriteWithAttrs { get; init; }

    /// <summary>Byte order of the device's registers.</summary>
    public DeviceEndianness Endianness { get; init; }

    /// <summary>Guest-visible constraints.</summary>
    public ValidAccess Valid { get; init; }

    /// <summary>Implementation constraints.</summary>
    public ImplAccess Impl { get; init; }
}
