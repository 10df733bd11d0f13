using Memspace.Core;

namespace Memspace.Ram;

/// <summary>
/// Host memory behind a RAM, ROM or ROM-device region, placed in the private ram_addr space that
/// indexes the dirty bitmaps (QEMU's <c>RAMBlock</c>). Created with its region and freed when the
/// region is destroyed.
/// </summary>
public sealed class RamBlock
{
    internal RamBlock(string regionName, ulong usedLength, ulong maxLength, RamBlockFlags flags, HostMemory? memory, Action<RamBlock, ulong>? resized)
    {
        RegionName = regionName;
        UsedLength = usedLength;
        MaxLength = maxLength;
        Flags = flags;
        Memory = memory;
        PageSize = memory?.PageSize ?? HostMemory.HostPageSize;
        Resized = resized;
    }

    /// <summary>Name of the region that owns the block.</summary>
    public string RegionName { get; }

    /// <summary>The block's id (QEMU's <c>idstr</c>): "qdev-path/name" for device-owned migratable RAM, the name otherwise, empty when not migratable.</summary>
    public string IdStr { get; internal set; } = "";

    /// <summary>Start of the block in ram_addr space (QEMU's <c>offset</c>).</summary>
    public ulong Offset { get; internal set; }

    /// <summary>Bytes in use (QEMU's <c>used_length</c>), a multiple of the host page size.</summary>
    public ulong UsedLength { get; internal set; }

    /// <summary>Bytes reserved (QEMU's <c>max_length</c>); larger than <see cref="UsedLength"/> only for resizeable blocks.</summary>
    public ulong MaxLength { get; }

    /// <summary>Page size of the backing memory.</summary>
    public ulong PageSize { get; }

    /// <summary>Flags.</summary>
    public RamBlockFlags Flags { get; }

    /// <summary>The host mapping, or null for a block without host memory (offline analysis of an imported map).</summary>
    public HostMemory? Memory { get; }

    /// <summary>Host address of the first byte (QEMU's <c>host</c>), or 0 without host memory.</summary>
    public nint Host => Memory?.Pointer ?? 0;

    /// <summary>Whether the block is registered for migration.</summary>
    public bool Migratable => (Flags & RamBlockFlags.Migratable) != 0;

    /// <summary>Whether the used length may change.</summary>
    public bool Resizeable => (Flags & RamBlockFlags.Resizeable) != 0;

    private volatile bool _freed;

    /// <summary>Whether the block has been freed (its region was destroyed).</summary>
    public bool IsFreed
    {
        get => _freed;
        internal set => _freed = value;
    }

    internal Action<RamBlock, ulong>? Resized { get; }

    /// <summary>Creation order in the list, the tie-break between blocks of equal maximum length.</summary>
    internal long Sequence { get; set; }

    /// <summary>Size of the gap indexed after this block, or null when none is indexed.</summary>
    internal ulong? GapSize { get; set; }

    private int _mappings;
    private HostMemory? _releaseWhenUnmapped;

    /// <summary>Number of DMA mappings (<c>address_space_map</c>) and <see cref="RamPointer"/>s into the block that are not given back yet.</summary>
    public int MappingCount => Volatile.Read(ref _mappings);

    internal void AddMapping() => Interlocked.Increment(ref _mappings);

    /// <summary>A pinned pointer to <paramref name="offset"/> (see <see cref="RamPointer"/>).</summary>
    /// <exception cref="ObjectDisposedException">The block has been freed.</exception>
    internal RamPointer Pin(ulong offset)
    {
        if (Memory is null)
        {
            throw new InvalidOperationException($"RAMBlock '{IdStr}' has no host memory");
        }
        AddMapping();
        if (IsFreed)
        {
            RemoveMapping();
            throw new ObjectDisposedException(ToString(), $"RAMBlock '{(IdStr.Length > 0 ? IdStr : RegionName)}' has been freed");
        }
        return new RamPointer(this, offset);
    }

    internal void RemoveMapping()
    {
        if (Interlocked.Decrement(ref _mappings) == 0 && Interlocked.Exchange(ref _releaseWhenUnmapped, null) is { } memory)
        {
            memory.Dispose();
        }
    }

    /// <summary>
    /// Marks the block freed and releases its host memory once no reader can still use it: after an
    /// RCU grace period, and after the last DMA mapping into it is unmapped.
    /// </summary>
    internal void FreeWhenReadersLeave()
    {
        IsFreed = true;
        if (Memory is { } memory)
        {
            Rcu.Call(() => ReleaseWhenUnmapped(memory));
        }
    }

    /// <summary>Marks the block freed and releases its host memory now, or when the last mapping or pointer is given back (the memory system is being disposed).</summary>
    internal void FreeNowOrWhenUnpinned()
    {
        IsFreed = true;
        if (Memory is { } memory)
        {
            ReleaseWhenUnmapped(memory);
        }
    }

    /// <summary>Frees the host memory now, or when the last DMA mapping goes (a grace period has already passed).</summary>
    private void ReleaseWhenUnmapped(HostMemory memory)
    {
        Volatile.Write(ref _releaseWhenUnmapped, memory);
        if (Volatile.Read(ref _mappings) == 0 && Interlocked.Exchange(ref _releaseWhenUnmapped, null) is { } m)
        {
            m.Dispose();
        }
    }

    /// <summary>Copies bytes out of the block (bounds-checked against <see cref="UsedLength"/>).</summary>
    /// <param name="offset">Offset in the block.</param>
    /// <param name="destination">Where to copy to.</param>
    public void Read(ulong offset, Span<byte> destination)
    {
        CheckAccess(offset, (ulong)destination.Length);
        // SAFETY: CheckAccess proved [offset, offset + length) inside the used length of a block that is
        // not freed; its host memory stays mapped until an RCU grace period after it is freed.
        unsafe
        {
            new ReadOnlySpan<byte>((void*)(Host + (nint)offset), destination.Length).CopyTo(destination);
        }
    }

    /// <summary>Copies bytes into the block (bounds-checked against <see cref="UsedLength"/>); does not mark them dirty.</summary>
    /// <param name="offset">Offset in the block.</param>
    /// <param name="source">What to copy.</param>
    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        CheckAccess(offset, (ulong)source.Length);
        // SAFETY: as in Read: bounds checked against the used length of a block that is not freed.
        unsafe
        {
            source.CopyTo(new Span<byte>((void*)(Host + (nint)offset), source.Length));
        }
    }

    /// <summary>
    /// Gives [<paramref name="offset"/>, + <paramref name="length"/>) back to the OS (QEMU's
    /// <c>ram_block_discard_range</c>); the range reads as zeros afterwards. Both must be multiples of
    /// <see cref="PageSize"/>.
    /// </summary>
    public void Discard(ulong offset, ulong length)
    {
        if (Memory is null)
        {
            throw new RamBlockException($"RAMBlock '{IdStr}' has no host memory to discard");
        }
        if (offset > MaxLength || length > MaxLength - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[0x{offset:x}, +0x{length:x}) is outside RAMBlock '{IdStr}' (0x{MaxLength:x} bytes)");
        }
        Memory.Discard(offset, length);
    }

    private void CheckAccess(ulong offset, ulong length)
    {
        ObjectDisposedException.ThrowIf(IsFreed, this);
        if (Memory is null)
        {
            throw new RamBlockException($"RAMBlock '{IdStr}' has no host memory");
        }
        if (offset > UsedLength || length > UsedLength - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"[0x{offset:x}, +0x{length:x}) is outside RAMBlock '{IdStr}' (0x{UsedLength:x} bytes in use)");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"RAMBlock '{IdStr}' offset 0x{Offset:x} used 0x{UsedLength:x} max 0x{MaxLength:x}";
}
