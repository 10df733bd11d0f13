
using Memspace.Util;

namespace Memspace.Ram;

/// <summary>
/// The RAMBlocks of one memory system and their dirty bitmaps (QEMU's <c>ram_list</c>). Blocks are
/// kept ordered by maximum length, largest first (equal lengths in creation order), and placed in
/// ram_addr space by QEMU's best-fit rule.
/// </summary>
/// <remarks>
/// Changes happen under the memory system's topology lock. Placement uses an index of the gaps
/// after each block (ordered by size, then by list order, which is QEMU's tie-break), so adding or
/// removing a block costs O(log n) where QEMU's scan costs O(n^2). Lookups read an immutable
/// snapshot of the list, rebuilt on the first lookup after a change.
/// </remarks>
public sealed class RamList
{
    private readonly Lock _sync = new();
    private readonly OrderedMap<ulong, RamBlock> _byOffset = new();
    private readonly OrderedMap<GapKey, RamBlock> _gaps = new();
    private readonly OrderedMap<ListKey, RamBlock> _byListOrder = new();
    private readonly Dictionary<string, RamBlock> _byIdStr = new(StringComparer.Ordinal);
    private long _sequence;
    private RamBlock[]? _blocks = [];
    private RamBlock[]? _blocksByOffset = [];
    private RamBlock? _mru;

    /// <summary>A gap after a block: its size, then the block's place in list order.</summary>
    private readonly record struct GapKey(ulong Size, ulong MaxLength, long Sequence) : IComparable<GapKey>
    {
        public int CompareTo(GapKey other)
        {
            int c = Size.CompareTo(other.Size);
            if (c != 0)
            {
                return c;
            }
            c = other.MaxLength.CompareTo(MaxLength);
            return c != 0 ? c : Sequence.CompareTo(other.Sequence);
        }
    }

    /// <summary>A block's place in list order: larger maximum length first, then creation order.</summary>
    private readonly record struct ListKey(ulong MaxLength, long Sequence) : IComparable<ListKey>
    {
        public int CompareTo(ListKey other)
        {
            int c = other.MaxLength.CompareTo(MaxLength);
            return c != 0 ? c : Sequence.CompareTo(other.Sequence);
        }
    }

    internal RamList(int targetPageBits)
    {
        Dirty = new DirtyMemory(targetPageBits);
        BlockAlignment = 64UL << targetPageBits;
    }

    /// <summary>ram_addr alignment of a block's start: 64 target pages, one word of the dirty bitmap (256 KiB with 4 KiB pages).</summary>
    public ulong BlockAlignment { get; }

    /// <summary>The blocks, largest maximum length first.</summary>
    public IReadOnlyList<RamBlock> Blocks => Volatile.Read(ref _blocks) ?? Snapshot().Blocks;

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
        lock (_sync)
        {
            if (_byOffset.Count == 0)
            {
                return 0;
            }
            // The smallest gap that fits; among equal gaps the one after the block that comes first in
            // list order, as QEMU's scan keeps the first strictly smaller gap it meets.
            if (!_gaps.Ceiling(new GapKey(size, ulong.MaxValue, long.MinValue), out GapKey gap, out RamBlock before)
                || gap.Size == ulong.MaxValue)
            {
                throw new RamBlockException($"Failed to find gap of requested size: {size}");
            }
            return GapStart(before)!.Value;
        }
    }

    /// <summary>Where the gap after <paramref name="block"/> starts (its end rounded up to the alignment), or null when that overflows.</summary>
    private ulong? GapStart(RamBlock block)
    {
        UInt128 end = (UInt128)block.Offset + block.MaxLength;
        UInt128 rounded = (end + BlockAlignment - 1) & ~(UInt128)(BlockAlignment - 1);
        return rounded > ulong.MaxValue ? null : (ulong)rounded;
    }

    /// <summary>Re-indexes the gap after <paramref name="block"/>: from its rounded end to the next block's start.</summary>
    private void UpdateGap(RamBlock block)
    {
        if (block.GapSize is { } old)
        {
            _gaps.Remove(new GapKey(old, block.MaxLength, block.Sequence));
            block.GapSize = null;
        }
        if (GapStart(block) is not { } start)
        {
            return;
        }
        ulong next = _byOffset.Ceiling(start, out ulong nextOffset, out _) ? nextOffset : ulong.MaxValue;
        ulong size = next - start;
        _gaps.Add(new GapKey(size, block.MaxLength, block.Sequence), block);
        block.GapSize = size;
    }

    private (RamBlock[] Blocks, RamBlock[] ByOffset) Snapshot()
    {
        lock (_sync)
        {
            RamBlock[] blocks = _blocks ?? [.. _byListOrder.Values()];
            RamBlock[] byOffset = _blocksByOffset ?? [.. _byOffset.Values()];
            Volatile.Write(ref _blocks, blocks);
            Volatile.Write(ref _blocksByOffset, byOffset);
            return (blocks, byOffset);
        }
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
        RamBlock[] byOffset = Volatile.Read(ref _blocksByOffset) ?? Snapshot().ByOffset;
        int lo = 0, hi = byOffset.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            if (byOffset[mid].Offset <= ramAddr)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (found >= 0 && ramAddr - byOffset[found].Offset < byOffset[found].MaxLength)
        {
            Volatile.Write(ref _mru, byOffset[found]);
            return byOffset[found];
        }
        return null;
    }

    /// <summary>The block whose host memory holds <paramref name="host"/>, with the offset inside it (QEMU's <c>qemu_ram_block_from_host</c>).</summary>
    /// <param name="host">A host address.</param>
    public (RamBlock Block, ulong Offset)? LookupByHost(nint host)
    {
        foreach (RamBlock block in Volatile.Read(ref _blocks) ?? Snapshot().Blocks)
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
    {
        ArgumentNullException.ThrowIfNull(idStr);
        lock (_sync)
        {
            return _byIdStr.GetValueOrDefault(idStr);
        }
    }

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

    /// <summary>
    /// The ram_addr space the dirty bitmaps cover at most (16 TiB): their chunks are allocated when a
    /// block needs them, so a block ending beyond this (an imported dump's 2^63-byte RAM) is refused
    /// instead of asking for gigabytes of bitmaps.
    /// </summary>
    public const ulong MaxRamAddrSpace = 1UL << 44;

    internal void Add(RamBlock block)
    {
        lock (_sync)
        {
            ulong offset = FindRamOffset(block.MaxLength);
            if ((UInt128)offset + block.MaxLength > MaxRamAddrSpace)
            {
                throw new RamBlockException($"RAMBlock '{(block.IdStr.Length > 0 ? block.IdStr : block.RegionName)}' of 0x{block.MaxLength:x} bytes would end beyond ram_addr 0x{MaxRamAddrSpace:x}, the most the dirty bitmaps cover");
            }
            block.Offset = offset;
            Dirty.Extend((ulong)(((UInt128)block.Offset + block.MaxLength) >> Dirty.TargetPageBits));
            block.Sequence = _sequence++;
            _byOffset.Add(block.Offset, block);
            _byListOrder.Add(new ListKey(block.MaxLength, block.Sequence), block);
            if (block.IdStr.Length > 0)
            {
                _byIdStr.Add(block.IdStr, block);
            }
            UpdateGap(block);
            if (_byOffset.Lower(block.Offset, out _, out RamBlock? before))
            {
                UpdateGap(before);
            }
            Invalidate();
        }
        Dirty.SetDirty(block.Offset, block.UsedLength, DirtyMemory.AllClients);
        BlockAdded?.Invoke(block);
    }

    internal void Remove(RamBlock block)
    {
        lock (_sync)
        {
            if (!_byOffset.Remove(block.Offset))
            {
                return;
            }
            _byListOrder.Remove(new ListKey(block.MaxLength, block.Sequence));
            if (block.IdStr.Length > 0)
            {
                _byIdStr.Remove(block.IdStr);
            }
            if (block.GapSize is { } gap)
            {
                _gaps.Remove(new GapKey(gap, block.MaxLength, block.Sequence));
                block.GapSize = null;
            }
            if (_byOffset.Lower(block.Offset, out _, out RamBlock? before))
            {
                UpdateGap(before);
            }
            Invalidate();
        }
        BlockRemoved?.Invoke(block);
    }

    private void Invalidate()
    {
        Volatile.Write(ref _mru, null);
        Volatile.Write(ref _blocks, null);
        Volatile.Write(ref _blocksByOffset, null);
        Version++;
    }
}
