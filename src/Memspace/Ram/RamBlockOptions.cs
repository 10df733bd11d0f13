namespace Memspace.Ram;

/// <summary>How the RAMBlock of a RAM, ROM or ROM-device region is created.</summary>
public sealed record RamBlockOptions
{
    /// <summary>The default: anonymous private memory, no swap reserved, migratable.</summary>
    public static RamBlockOptions Default { get; } = new();

    /// <summary>
    /// The host memory to use, from one of the <see cref="HostMemory"/> factories (memfd, file, huge
    /// pages, caller-provided); the block owns it from then on (except caller-provided memory, which
    /// stays the caller's). Null: anonymous memory is mapped.
    /// </summary>
    public HostMemory? Memory { get; init; }

    /// <summary>Makes the block resizeable up to this size (QEMU's <c>memory_region_init_resizeable_ram</c>).</summary>
    public ulong? MaxSize { get; init; }

    /// <summary>Called after a resize with the new size (QEMU's <c>resized</c> callback).</summary>
    public Action<RamBlock, ulong>? Resized { get; init; }

    /// <summary>Map anonymous memory shared (when <see cref="Memory"/> is null).</summary>
    public bool Shared { get; init; }

    /// <summary>Do not reserve swap for anonymous memory (<c>MAP_NORESERVE</c>).</summary>
    public bool NoReserve { get; init; } = true;

    /// <summary>
    /// Register the block for migration: it gets an id string ("owner-path/name") and its pages are
    /// logged during global dirty tracking. QEMU's <c>_nomigrate</c> variants are false.
    /// </summary>
    public bool Migratable { get; init; } = true;

    /// <summary>
    /// The path to put before the region name in the block's id when no device owns the region
    /// ("PATH/name", as a device's qdev path would be); null: the id is the owner's path and the name,
    /// or the name alone. The importer uses it for RAM regions that share a name, since a dump does not
    /// print owners.
    /// </summary>
    public string? IdPath { get; init; }

    /// <summary>Anonymous huge pages of this size (when <see cref="Memory"/> is null), for example <see cref="HostMemory.HugePage2M"/>.</summary>
    public ulong HugePageSize { get; init; }
}
