using Memspace.Ram;

namespace Memspace.Regions;

/// <summary>The RAM facet of a region: its RAMBlock, resizing, dirty tracking and destruction.</summary>
public sealed partial class MemoryRegion
{
    private int _aliasReferences;

    /// <summary>The region's RAMBlock (RAM, ROM, ROM device, RAM device), or null.</summary>
    public RamBlock? RamBlock { get; private set; }

    /// <summary>Whether <see cref="Destroy"/> has run.</summary>
    public bool IsDestroyed { get; private set; }

    /// <summary>Start of the region's RAMBlock in ram_addr space (<c>memory_region_get_ram_addr</c>).</summary>
    public ulong RamAddr => RamBlock?.Offset
        ?? throw new InvalidOperationException($"'{Name}' has no RAMBlock");

    /// <summary>
    /// Host address of the region's first byte (<c>memory_region_get_ram_ptr</c>), following aliases
    /// to the RAM they show, as a handle that keeps the memory mapped until it is disposed (the
    /// region may be destroyed meanwhile; its memory goes back to the OS when the last handle does).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The region (or the RAM an alias shows) has been destroyed.</exception>
    /// <exception cref="InvalidOperationException">The region has no host memory.</exception>
    public RamPointer GetRamPtr()
    {
        ulong offset = 0;
        MemoryRegion mr = this;
        CheckNotDestroyed();
        while (mr.AliasTarget is { } target)
        {
            offset = unchecked(offset + mr.AliasOffset);
            mr = target;
            mr.CheckNotDestroyed();
        }
        if (mr.RamBlock is not { Memory: not null } block)
        {
            throw new InvalidOperationException($"'{Name}' has no host memory");
        }
        if (offset >= block.MaxLength)
        {
            throw new InvalidOperationException($"'{Name}' starts at offset 0x{offset:x}, past the end of RAMBlock '{block.IdStr}' (0x{block.MaxLength:x} bytes)");
        }
        return block.Pin(offset);
    }

    /// <summary>The id this region's RAMBlock gets (QEMU's <c>qemu_ram_set_idstr</c>): the owner's qdev path and a slash, then the region name.</summary>
    private string IdStr => Owner is { IsDevice: true, DevicePath: { } path } ? $"{path}/{Name}" : Name;

    private MemoryRegion WithRamBlock(RamBlockOptions options)
    {
        if (_size == 0 || _size >= Size2To64)
        {
            throw new ArgumentOutOfRangeException("size", _size, $"RAM '{Name}' must be between one byte and 2^64 - 1 bytes");
        }
        HostMemory? memory = options.Memory;
        bool ownMemory = false;
        ulong page = memory?.PageSize ?? (options.HugePageSize != 0 ? options.HugePageSize : HostMemory.HostPageSize);
        ulong used = HostMemory.AlignUp((ulong)_size, page);
        ulong max = options.MaxSize is { } m ? HostMemory.AlignUp(m, page) : used;
        if (max < used)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"RAM '{Name}': maximum size 0x{max:x} is below the size 0x{used:x}");
        }
        string idStr = !options.Migratable ? ""
            : options.IdPath is { } path && Owner is not { IsDevice: true, DevicePath: not null } ? $"{path}/{Name}"
            : IdStr;
        lock (System.TopologyLock)
        {
            System.RamList.CheckIdStrFree(idStr);
            if (memory is null && System.AllocateRam)
            {
                memory = HostMemory.Anonymous(max, options.Shared, options.NoReserve, options.HugePageSize);
                ownMemory = true;
            }
            if (memory is not null && memory.Length < max)
            {
                if (ownMemory)
                {
                    memory.Dispose();
                }
                throw new ArgumentOutOfRangeException(nameof(options), $"RAM '{Name}': the host memory has 0x{memory.Length:x} bytes, 0x{max:x} are needed");
            }
            RamBlockFlags flags = RamBlockFlags.None;
            if (memory is { Shared: true })
            {
                flags |= RamBlockFlags.Shared;
            }
            if (memory is CallerMemory)
            {
                flags |= RamBlockFlags.Preallocated;
            }
            if (options.MaxSize is not null)
            {
                flags |= RamBlockFlags.Resizeable;
            }
            if (options.NoReserve && options.Memory is null)
            {
                flags |= RamBlockFlags.NoReserve;
            }
            if (options.Migratable)
            {
                flags |= RamBlockFlags.Migratable;
            }
            var block = new RamBlock(Name, used, max, flags, memory, options.Resized) { IdStr = idStr };
            try
            {
                System.RamList.Add(block);
            }
            catch when (ownMemory)
            {
                memory!.Dispose();
                throw;
            }
            RamBlock = block;
        }
        return this;
    }

    /// <summary>
    /// Changes the size of a resizeable RAM region (<c>memory_region_ram_resize</c> /
    /// <c>qemu_ram_resize</c>): the block's used length follows (page-aligned), its pages all become
    /// dirty, listeners see a commit, and the block's <c>resized</c> callback runs.
    /// </summary>
    /// <param name="newSize">The new size, at most the block's maximum length.</param>
    /// <exception cref="RamBlockException">"Size mismatch" for a block that is not resizeable, "Size too large" beyond its maximum.</exception>
    public void RamResize(ulong newSize)
    {
        using var tx = System.Transaction();
        CheckNotDestroyed();
        if (RamBlock is not { } block)
        {
            throw new InvalidOperationException($"'{Name}' has no RAMBlock");
        }
        ulong aligned = HostMemory.AlignUp(newSize, block.PageSize);
        if (aligned == block.UsedLength)
        {
            if (newSize != Size64)
            {
                SetSizeInternal(newSize);
                block.Resized?.Invoke(block, newSize);
            }
            return;
        }
        if (!block.Resizeable)
        {
            throw new RamBlockException($"Size mismatch: {block.IdStr}: 0x{aligned:x} != 0x{block.UsedLength:x}: Invalid argument");
        }
        if (block.MaxLength < aligned)
        {
            throw new RamBlockException($"Size too large: {block.IdStr}: 0x{aligned:x} > 0x{block.MaxLength:x}: Invalid argument");
        }
        DirtyMemory dirty = System.RamList.Dirty;
        dirty.ClearDirty(block.Offset, block.UsedLength);
        block.UsedLength = aligned;
        dirty.SetDirty(block.Offset, block.UsedLength, DirtyMemory.AllClients);
        SetSizeInternal(newSize);
        block.Resized?.Invoke(block, newSize);
    }

    /// <summary>
    /// Marks [<paramref name="address"/>, + <paramref name="size"/>) dirty for the clients that log the
    /// region now (<c>memory_region_set_dirty</c>).
    /// </summary>
    /// <param name="address">Offset in the region.</param>
    /// <param name="size">Length.</param>
    public void SetDirty(ulong address, ulong size)
    {
        RamBlock block = RequireRamBlock(address, size);
        System.RamList.Dirty.SetDirty(block.Offset + address, size, DirtyLogMask);
    }

    /// <summary>Whether any page of the range is dirty for <paramref name="client"/>.</summary>
    /// <param name="address">Offset in the region.</param>
    /// <param name="size">Length.</param>
    /// <param name="client">The client.</param>
    public bool GetDirty(ulong address, ulong size, DirtyMemoryClient client)
    {
        RamBlock block = RequireRamBlock(address, size);
        return System.RamList.Dirty.GetDirty(block.Offset + address, size, client);
    }

    /// <summary>Clears the range for <paramref name="client"/>, saying whether any page was dirty (<c>memory_region_reset_dirty</c>).</summary>
    /// <param name="address">Offset in the region.</param>
    /// <param name="size">Length.</param>
    /// <param name="client">The client.</param>
    public bool ResetDirty(ulong address, ulong size, DirtyMemoryClient client)
    {
        RamBlock block = RequireRamBlock(address, size);
        return System.RamList.Dirty.TestAndClearDirty(block.Offset + address, size, client);
    }

    /// <summary>
    /// Pulls dirty bits from listeners (<c>log_sync</c>), then copies and clears the client's bits for
    /// the range, rounded outward to 64-page boundaries as QEMU does, tells listeners what was consumed
    /// (<c>log_clear</c>) and ends with <c>log_global_after_sync</c>
    /// (<c>memory_region_snapshot_and_clear_dirty</c>).
    /// </summary>
    /// <param name="address">Offset in the region.</param>
    /// <param name="size">Length.</param>
    /// <param name="client">The client.</param>
    public DirtyBitmapSnapshot SnapshotAndClearDirty(ulong address, ulong size, DirtyMemoryClient client)
    {
        lock (System.TopologyLock)
        {
            RamBlock block = RequireRamBlock(address, size);
            return System.SyncDirtyLog(this, address, size, () => System.RamList.Dirty.SnapshotAndClear(block.Offset + address, size, client));
        }
    }

    /// <summary>Whether a snapshot has any dirty page in [<paramref name="address"/>, + <paramref name="size"/>) of this region (<c>memory_region_snapshot_get_dirty</c>).</summary>
    /// <param name="snapshot">A snapshot from <see cref="SnapshotAndClearDirty"/>.</param>
    /// <param name="address">Offset in the region.</param>
    /// <param name="size">Length.</param>
    public bool SnapshotGetDirty(DirtyBitmapSnapshot snapshot, ulong address, ulong size)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        RamBlock block = RequireRamBlock(address, size);
        return snapshot.GetDirty(block.Offset + address, size);
    }

    /// <summary>
    /// Destroys the region (what QEMU does when its owner is finalized): removes its subregions and
    /// frees its RAMBlock, whose host memory goes back to the OS once no reader can still use it. The
    /// region must not be mapped, be an address-space root, or be the target of an alias.
    /// </summary>
    public void Destroy()
    {
        using var tx = System.Transaction();
        if (IsDestroyed)
        {
            return;
        }
        if (Container is { } c)
        {
            throw new MemoryTopologyException($"cannot destroy '{Name}': it is mapped in '{c.Name}'; remove it first");
        }
        if (System.AddressSpaceRootedAt(this) is { } space)
        {
            throw new MemoryTopologyException($"cannot destroy '{Name}': it is the root of address space '{space}'");
        }
        if (_aliasReferences > 0)
        {
            throw new MemoryTopologyException($"cannot destroy '{Name}': {_aliasReferences} alias(es) still point at it; destroy them first");
        }
        // As QEMU's finalizer does: nobody can see the region, so removing its subregions changes no view.
        _enabled = false;
        while (_subregions.Count > 0)
        {
            DetachSubregion(_subregions.Ordered[0]);
        }
        if (AliasTarget is { } target)
        {
            target._aliasReferences--;
            target._aliasReferrers?.Remove(this);
        }
        RenderCache = null;
        if (RamBlock is { } block)
        {
            System.RamList.Remove(block);
            block.FreeWhenReadersLeave();
        }
        IsDestroyed = true;
    }

    private RamBlock RequireRamBlock(ulong address, ulong size)
    {
        if (RamBlock is not { } block)
        {
            throw new InvalidOperationException($"'{Name}' has no RAMBlock");
        }
        if (address > block.MaxLength || size > block.MaxLength - address)
        {
            throw new ArgumentOutOfRangeException(nameof(address), $"[0x{address:x}, +0x{size:x}) is outside '{Name}' (0x{block.MaxLength:x} bytes)");
        }
        return block;
    }

    private void CheckNotDestroyed()
    {
        if (IsDestroyed)
        {
            throw new ObjectDisposedException(ToString(), $"'{Name}' has been destroyed");
        }
    }
}
