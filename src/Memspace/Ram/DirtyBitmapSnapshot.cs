namespace Memspace.Ram;

/// <summary>
/// Dirty bits copied out of a client's bitmap by <see cref="DirtyMemory.SnapshotAndClear"/> (QEMU's
/// <c>DirtyBitmapSnapshot</c>): covers [<see cref="Start"/>, <see cref="End"/>) in ram_addr space.
/// </summary>
public sealed class DirtyBitmapSnapshot
{
    private readonly ulong[] _bits;
    private readonly int _pageBits;

    internal DirtyBitmapSnapshot(ulong start, ulong end, ulong[] bits, int pageBits)
    {
        Start = start;
        End = end;
        _bits = bits;
        _pageBits = pageBits;
    }

    /// <summary>First ram_addr covered (a multiple of 256 KiB).</summary>
    public ulong Start { get; }

    /// <summary>One past the last ram_addr covered.</summary>
    public ulong End { get; }

    /// <summary>
    /// The first dirty page at or after ram_addr <paramref name="ramAddr"/> and before <paramref name="end"/>
    /// (a word of the bitmap at a time), or null when there is none.
    /// </summary>
    /// <param name="ramAddr">Where to start looking (inside the snapshot).</param>
    /// <param name="end">Where to stop looking (at most <see cref="End"/>).</param>
    public ulong? NextDirty(ulong ramAddr, ulong end)
    {
        if (ramAddr < Start || ramAddr > End || end > End)
        {
            throw new ArgumentOutOfRangeException(nameof(ramAddr), $"[0x{ramAddr:x}, 0x{end:x}) is outside the snapshot [0x{Start:x}, 0x{End:x})");
        }
        ulong page = (ramAddr - Start) >> _pageBits;
        ulong last = (end - Start) >> _pageBits;
        while (page < last)
        {
            ulong word = _bits[page / 64] >> (int)(page % 64);
            if (word != 0)
            {
                page += (ulong)System.Numerics.BitOperations.TrailingZeroCount(word);
                return page < last ? Start + (page << _pageBits) : null;
            }
            page = (page / 64 + 1) * 64;
        }
        return null;
    }

    /// <summary>Whether any page of [<paramref name="ramAddr"/>, + <paramref name="length"/>) was dirty (<c>cpu_physical_memory_snapshot_get_dirty</c>).</summary>
    public bool GetDirty(ulong ramAddr, ulong length)
    {
        if (ramAddr < Start || length > End - ramAddr)
        {
            throw new ArgumentOutOfRangeException(nameof(ramAddr), $"[0x{ramAddr:x}, +0x{length:x}) is outside the snapshot [0x{Start:x}, 0x{End:x})");
        }
        ulong pageSize = 1UL << _pageBits;
        ulong page = (ramAddr - Start) >> _pageBits;
        ulong end = (ramAddr + length - Start + pageSize - 1) >> _pageBits;
        for (; page < end; page++)
        {
            if ((_bits[page / 64] & (1UL << (int)(page % 64))) != 0)
            {
                return true;
            }
        }
        return false;
    }
}
