using System.Numerics;

namespace Memspace.Ram;

/// <summary>
/// One client's dirty bitmap over ram_addr pages (a slot of QEMU's <c>ram_list.dirty_memory</c>).
/// Bits are set and cleared atomically from any thread; the bitmap grows in chunks of 2^21 pages
/// (8 GiB of 4 KiB pages) without moving existing chunks, so concurrent writers never lose a bit.
/// </summary>
public sealed class DirtyBitmap
{
    /// <summary>Pages per chunk (QEMU's <c>DIRTY_MEMORY_BLOCK_SIZE</c>).</summary>
    public const int ChunkPages = 1 << 21;

    private const int WordsPerChunk = ChunkPages / 64;
    private ulong[][] _chunks = [];

    /// <summary>Number of pages the bitmap covers.</summary>
    public ulong Pages => (ulong)Volatile.Read(ref _chunks).Length * ChunkPages;

    /// <summary>Grows the bitmap to cover at least <paramref name="pages"/> pages.</summary>
    internal void Extend(ulong pages)
    {
        ulong[][] old = Volatile.Read(ref _chunks);
        ulong needed = (pages + ChunkPages - 1) / ChunkPages;
        if (needed <= (ulong)old.Length)
        {
            return;
        }
        var grown = new ulong[needed][];
        Array.Copy(old, grown, old.Length);
        for (int i = old.Length; i < grown.Length; i++)
        {
            grown[i] = new ulong[WordsPerChunk];
        }
        Volatile.Write(ref _chunks, grown);
    }

    /// <summary>Whether page <paramref name="page"/> is dirty.</summary>
    /// <param name="page">ram_addr page number.</param>
    public bool Test(ulong page)
    {
        ulong[][] chunks = Volatile.Read(ref _chunks);
        CheckRange(chunks, page, 1);
        return (Volatile.Read(ref Word(chunks, page)) & (1UL << (int)(page & 63))) != 0;
    }

    /// <summary>Marks [<paramref name="first"/>, + <paramref name="count"/>) dirty.</summary>
    public void Set(ulong first, ulong count) => Apply(first, count, Op.Set);

    /// <summary>Clears [<paramref name="first"/>, + <paramref name="count"/>).</summary>
    public void Clear(ulong first, ulong count) => Apply(first, count, Op.Clear);

    /// <summary>Whether any page of the range is dirty.</summary>
    public bool Any(ulong first, ulong count) => Apply(first, count, Op.Test);

    /// <summary>Clears the range and returns whether any page was dirty.</summary>
    public bool TestAndClear(ulong first, ulong count) => Apply(first, count, Op.TestAndClear);

    /// <summary>Number of dirty pages in the range.</summary>
    public ulong Count(ulong first, ulong count)
    {
        ulong[][] chunks = Volatile.Read(ref _chunks);
        CheckRange(chunks, first, count);
        ulong n = 0;
        for (ulong page = first; page < first + count;)
        {
            ulong bit = page & 63;
            ulong take = Math.Min(64 - bit, first + count - page);
            ulong mask = take == 64 ? ulong.MaxValue : ((1UL << (int)take) - 1) << (int)bit;
            n += (ulong)BitOperations.PopCount(Volatile.Read(ref Word(chunks, page)) & mask);
            page += take;
        }
        return n;
    }

    /// <summary>
    /// Atomically moves 64-page-aligned words [<paramref name="firstWordPage"/>, + <paramref name="pages"/>)
    /// into <paramref name="destination"/> starting at word <paramref name="destinationWord"/>, leaving them clear.
    /// </summary>
    internal void CopyAndClear(ulong firstWordPage, ulong pages, ulong[] destination, int destinationWord)
    {
        ulong[][] chunks = Volatile.Read(ref _chunks);
        CheckRange(chunks, firstWordPage, pages);
        ulong page = firstWordPage;
        int dest = destinationWord;
        ulong end = firstWordPage + pages;
        while (page < end)
        {
            ulong[] chunk = chunks[page / ChunkPages];
            int first = (int)(page % ChunkPages / 64);
            int words = (int)Math.Min((ulong)(WordsPerChunk - first), (end - page) / 64);
            for (int i = 0; i < words; i++)
            {
                ref ulong word = ref chunk[first + i];
                // A clean word needs no atomic exchange: a bit set after this read stays for the next snapshot.
                destination[dest + i] = Volatile.Read(ref word) == 0 ? 0 : Interlocked.Exchange(ref word, 0);
            }
            page += (ulong)words * 64;
            dest += words;
        }
    }

    private enum Op
    {
        Set,
        Clear,
        Test,
        TestAndClear,
    }

    private bool Apply(ulong first, ulong count, Op op)
    {
        ulong[][] chunks = Volatile.Read(ref _chunks);
        CheckRange(chunks, first, count);
        bool any = false;
        ulong end = first + count;
        for (ulong page = first; page < end;)
        {
            ulong bit = page & 63;
            ulong take = Math.Min(64 - bit, end - page);
            ulong mask = take == 64 ? ulong.MaxValue : ((1UL << (int)take) - 1) << (int)bit;
            ref ulong word = ref Word(chunks, page);
            switch (op)
            {
                case Op.Set:
                    if ((Volatile.Read(ref word) & mask) != mask)
                    {
                        Interlocked.Or(ref word, mask);
                    }
                    break;
                case Op.Clear:
                    Interlocked.And(ref word, ~mask);
                    break;
                case Op.Test:
                    if ((Volatile.Read(ref word) & mask) != 0)
                    {
                        return true;
                    }
                    break;
                case Op.TestAndClear:
                    any |= (Interlocked.And(ref word, ~mask) & mask) != 0;
                    break;
            }
            page += take;
        }
        return any;
    }

    private static ref ulong Word(ulong[][] chunks, ulong page)
        => ref chunks[page / ChunkPages][(page % ChunkPages) / 64];

    private static void CheckRange(ulong[][] chunks, ulong first, ulong count)
    {
        ulong pages = (ulong)chunks.Length * ChunkPages;
        if (first > pages || count > pages - first)
        {
            throw new ArgumentOutOfRangeException(nameof(first), $"pages [0x{first:x}, +0x{count:x}) lie outside the dirty bitmap (0x{pages:x} pages)");
        }
    }
}
