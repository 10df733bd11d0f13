namespace Memspace.Ram;

/// <summary>
/// The dirty bitmaps of every client, indexed by ram_addr page (QEMU's
/// <c>ram_list.dirty_memory[]</c> and the <c>cpu_physical_memory_*_dirty*</c> functions).
/// Pages are target pages (<see cref="MemorySystemOptions.TargetPageBits"/>: 4 KiB on x86).
/// </summary>
public sealed class DirtyMemory
{
    internal DirtyMemory(int targetPageBits)
    {
        TargetPageBits = targetPageBits;
        TargetPageSize = 1UL << targetPageBits;
    }

    /// <summary>log2 of the target page size (QEMU's <c>TARGET_PAGE_BITS</c>).</summary>
    public int TargetPageBits { get; }

    /// <summary>The target page size.</summary>
    public ulong TargetPageSize { get; }

    /// <summary>Every client (QEMU's <c>DIRTY_CLIENTS_ALL</c>).</summary>
    public const byte AllClients = 0b111;

    /// <summary>Every client but CODE (QEMU's <c>DIRTY_CLIENTS_NOCODE</c>).</summary>
    public const byte NoCode = 0b101;

    private readonly DirtyBitmap[] _bitmaps = [new(), new(), new()];

    /// <summary>The bitmap of one client.</summary>
    /// <param name="client">The client.</param>
    public DirtyBitmap this[DirtyMemoryClient client] => _bitmaps[(int)client];

    internal void Extend(ulong pages)
    {
        foreach (DirtyBitmap b in _bitmaps)
        {
            b.Extend(pages);
        }
    }

    private (ulong First, ulong Count) Pages(ulong ramAddr, ulong length)
    {
        if (length == 0)
        {
            return (ramAddr >> TargetPageBits, 0);
        }
        ulong first = ramAddr >> TargetPageBits;
        ulong end = (ulong)(((UInt128)ramAddr + length + TargetPageSize - 1) >> TargetPageBits);
        return (first, end - first);
    }

    /// <summary>Marks [<paramref name="ramAddr"/>, + <paramref name="length"/>) dirty for the clients in <paramref name="clientMask"/> (<c>cpu_physical_memory_set_dirty_range</c>).</summary>
    public void SetDirty(ulong ramAddr, ulong length, byte clientMask)
    {
        (ulong first, ulong count) = Pages(ramAddr, length);
        for (int c = 0; c < _bitmaps.Length; c++)
        {
            if ((clientMask & (1 << c)) != 0)
            {
                _bitmaps[c].Set(first, count);
            }
        }
    }

    /// <summary>Whether any page of the range is dirty for <paramref name="client"/> (<c>cpu_physical_memory_get_dirty</c>).</summary>
    public bool GetDirty(ulong ramAddr, ulong length, DirtyMemoryClient client)
    {
        (ulong first, ulong count) = Pages(ramAddr, length);
        return this[client].Any(first, count);
    }

    /// <summary>Clears the range for <paramref name="client"/> and says whether any page was dirty (<c>cpu_physical_memory_test_and_clear_dirty</c>).</summary>
    public bool TestAndClearDirty(ulong ramAddr, ulong length, DirtyMemoryClient client)
    {
        (ulong first, ulong count) = Pages(ramAddr, length);
        return this[client].TestAndClear(first, count);
    }

    /// <summary>Clears the range for every client (<c>cpu_physical_memory_clear_dirty_range</c>).</summary>
    public void ClearDirty(ulong ramAddr, ulong length)
    {
        (ulong first, ulong count) = Pages(ramAddr, length);
        foreach (DirtyBitmap b in _bitmaps)
        {
            b.Clear(first, count);
        }
    }

    /// <summary>
    /// Copies and clears the client's bits for the range rounded outward to 64-page (256 KiB)
    /// boundaries, as QEMU does: the neighbouring pages of the same 64-page word are cleared too
    /// (<c>cpu_physical_memory_snapshot_and_clear_dirty</c>).
    /// </summary>
    public DirtyBitmapSnapshot SnapshotAndClear(ulong ramAddr, ulong length, DirtyMemoryClient client)
    {
        ulong align = TargetPageSize * 64;
        ulong first = ramAddr & ~(align - 1);
        ulong last = (ulong)(((UInt128)ramAddr + length + align - 1) & ~(UInt128)(align - 1));
        ulong pages = (last - first) >> TargetPageBits;
        var bits = new ulong[pages / 64];
        this[client].CopyAndClear(first >> TargetPageBits, pages, bits, 0);
        return new DirtyBitmapSnapshot(first, last, bits, TargetPageBits);
    }
}
