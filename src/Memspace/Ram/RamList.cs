
namespace Memspace.Ram;

/// <summary>
/// The RAMBlocks of one memory system and their dirty bitmaps (QEMU's <c>ram_list</c>). Blocks are
/// kept ordered by maximum length, largest first (equal lengths in creation order), and placed in
/// ram_addr space by QEMU's best-fit rule.
/// </summary>
/// <remarks>
/// Changes happen under the memory system's topology lock; lookups read an immutable snapshot of
/// the list and take no lock.
/// </remarks>
public sealed class RamList
{
    private RamBlock[] _blocks = [];
    private RamBlock? _mru;

    internal RamList(int targetPageBits)
    {
        Dirty = new DirtyMemory(targetPageBits);
        BlockAlignment = 64UL << targetPageBits;
    }

    /// <summary>ram_addr alignment of a block's start: 64 target pages, one word of the dirty bitmap (256 KiB with 4 KiB pages).</summary>
    public ulong BlockAlignment { get; }

    /// <summary>The blocks, largest maximum length first.</summary>
    public IReadOnlyList<RamBlock> Blocks => Volatile.Read(ref _blocks);

    /// <summary>The dirty bitmaps.</summary>
    public DirtyMemory Dirty { get; }

    /// <summary>Incremented whenever a block is added or removed (QEMU's <c>version</c>).</summary>
    public uint Version { get; private set; }

    /// <summary>
    /// Where a block of <paramref name="size"/> bytes would go (QEMU's <c>find_ram_offset</c>): after the
    /// end of some block, rounded up to <see cref="BlockAlignment"/>, in the smallest gap that fits;
    /// 0 when there is no block. The space before the first block is never used.
    /// </summary>
    /// <param name="size">Maximum length of the new block.</param>
    public ulong FindRamOffset(ulong size)
    {
        if (size == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), "a RAMBlock is at least one page");
        }
        RamBlock[] blocks = Volatile.Read(ref _blocks);
        if (blocks.Length == 0)
        {
            return 0;
        }
        ulong offset = ulong.MaxValue, minGap = ulong.MaxValue;
        foreach (RamBlock block in blocks)
        {
            UInt128 end = (UInt128)block.Offset + block.MaxLength;
            UInt128 rounded = (end + BlockAlignment - 1) & ~(UInt128)(BlockAlignment - 1);
            if (rounded > ulong.MaxValue)
            {
                continue;
            }
            ulong candidate = (ulong)rounded;
            ulong next = ulong.MaxValue;
            foreach (RamBlock other in blocks)
            {
                if (other.Offset >= candidate)
                {
                    next = Math.Min(next, other.Offset);
                }
            }
            if (next - candidate >= size && next - candidate < minGap)
            {
                offset = candidate;
                minGap = next - candidate;
            }
        }
        if (offset == ulong.MaxValue)
        {
            throw new RamBlockException($"Failed to find gap of requested size: {size}");
        }
        return offset;
    }

    /// <summary>The block holding ram_addr <paramref name="ramAddr"/> (QEMU's <c>qemu_get_ram_block</c>, matching against the maximum length), or null.</summary>
    /// <param name="ramAddr">A ram_addr.</param>
    public RamBlock? LookupByRamAddr(ulong ramAddr)
    {
        RamBlock? mru = Volatile.Read(ref _mru);
        if (mru is not null && ramAddr - mru.Offset < mru.MaxLength)
        {
            return mru;
        }
        foreach (RamBlock block in Volatile.Read(ref _blocks))
        {
            if (ramAddr - block.Offset < block.MaxLength)
            {
                Volatile.Write(ref _mru, block);
                return block;
            }
        }
        return null;
    }

    /// <summary>The block whose host memory holds <paramref name="host"/>, with the offset inside it (QEMU's <c>qemu_ram_block_from_host</c>).</summary>
    /// <param name="host">A host address.</param>
    public (RamBlock Block, ulong Offset)? LookupByHost(nint host)
    {
        foreach (RamBlock block in Volatile.Read(ref _blocks))
        {
            if (block.Host != 0 && (ulong)(host - block.Host) < block.MaxLength)
            {
                return (block, (ulong)(host - block.Host));
            }
        }
        return null;
    }

    /// <summary>The block with id <paramref name="idStr"/> (QEMU's <c>qemu_ram_block_by_name</c>), or null.</summary>
    /// <param name="idStr">A block id.</param>
    public RamBlock? LookupByIdStr(string idStr)
        => Array.Find(Volatile.Read(ref _blocks), b => b.IdStr == idStr);

    internal void CheckIdStrFree(string idStr)
    {
        if (idStr.Length > 0 && LookupByIdStr(idStr) is not null)
        {
            throw new RamBlockException($"RAMBlock \"{idStr}\" already registered");
        }
    }

    /// <summary>Raised after a block joins the list (<c>ram_block_add</c>), with its ram_addr offset set.</summary>
    public event Action<RamBlock>? BlockAdded;

    /// <summary>Raised after a block leaves the list (<c>qemu_ram_free</c>); its host memory may live on until an RCU grace period ends.</summary>
    public event Action<RamBlock>? BlockRemoved;

    internal void Add(RamBlock block)
    {
        block.Offset = FindRamOffset(block.MaxLength);
        Dirty.Extend((ulong)(((UInt128)block.Offset + block.MaxLength) >> Dirty.TargetPageBits));
        RamBlock[] old = _blocks;
        int i = 0;
        while (i < old.Length && old[i].MaxLength >= block.MaxLength)
        {
            i++;
        }
        var blocks = new RamBlock[old.Length + 1];
        Array.Copy(old, blocks, i);
        blocks[i] = block;
        Array.Copy(old, i, blocks, i + 1, old.Length - i);
        Volatile.Write(ref _mru, null);
        Volatile.Write(ref _blocks, blocks);
        Version++;
        Dirty.SetDirty(block.Offset, block.UsedLength, DirtyMemory.AllClients);
        BlockAdded?.Invoke(block);
    }

    internal void Remove(RamBlock block)
    {
        RamBlock[] blocks = Array.FindAll(_blocks, b => b != block);
        Volatile.Write(ref _mru, null);
        Volatile.Write(ref _blocks, blocks);
        Version++;
        BlockRemoved?.Invoke(block);
    }
}
