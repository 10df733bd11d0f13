using System.Buffers.Binary;
using Memspace.Core;
using static Memspace.Machines.Guests.DirtyGuestLayout;

namespace Memspace.Machines.Guests;

/// <summary>
/// Checks the writing guest's RAM against its counters: after W writes over P pages, page i holds visit
/// count W / P (+1 when i &lt; W mod P) in its first qword, i in its second and the pattern of (i, count)
/// everywhere else (an unvisited page is all zero), and the checksum is the one the W writes produce.
/// A lost write leaves a page one visit behind, a doubled one a page one ahead; either is named.
/// </summary>
public static class DirtyVerifier
{
    /// <summary>Verifies the guest in <paramref name="memory"/> against the counters it keeps in its control page.</summary>
    /// <param name="memory">The guest's memory address space.</param>
    /// <param name="pages">Pages in the region (the size the guest was built for, / 4096).</param>
    /// <param name="paused">
    /// False (strict) for a guest that acknowledged a stop (<see cref="DirtyPacer.Stopped"/>). True for a
    /// guest paused anywhere: the page the next write goes to may then be anywhere between its previous
    /// and its next visit (the fill runs front to back), and the control page may be half updated, in
    /// which case the checksum is not checked.
    /// </param>
    public static DirtyVerification Verify(AddressSpace memory, ulong pages, bool paused = false)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ulong writes = memory.LoadU64Le(ControlPage + ControlWrites, out _, MemTxAttrs.UnspecifiedAttrs);
        ulong checksum = memory.LoadU64Le(ControlPage + ControlChecksum, out _, MemTxAttrs.UnspecifiedAttrs);
        return Verify(memory, pages, writes, checksum, paused);
    }

    /// <summary>Verifies the guest in <paramref name="memory"/> against <paramref name="writes"/> and <paramref name="checksum"/> (for example from its registers: r11 and r13).</summary>
    /// <param name="memory">The guest's memory address space.</param>
    /// <param name="pages">Pages in the region.</param>
    /// <param name="writes">Total page writes.</param>
    /// <param name="checksum">The running checksum.</param>
    /// <param name="paused">Whether the guest may have been paused in the middle of a write (see the other overload).</param>
    public static DirtyVerification Verify(AddressSpace memory, ulong pages, ulong writes, ulong checksum, bool paused = false)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (pages == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pages), "the region has no pages");
        }
        DirtyVerification Fail(ulong? page, string problem) => new(false, writes, pages, checksum, page, problem);

        if (memory.LoadU64Le(ControlPage + ControlMagic, out _, MemTxAttrs.UnspecifiedAttrs) != ControlMagicValue)
        {
            return Fail(null, $"the control page at 0x{ControlPage:x} was never set up: the guest did not reach ring 3");
        }
        ulong control = memory.LoadU64Le(ControlPage + ControlWrites, out _, MemTxAttrs.UnspecifiedAttrs);
        if (control != writes)
        {
            return Fail(null, $"the control page says {control} writes, the counters {writes}");
        }
        ulong badPage = memory.LoadU64Le(ControlPage + ControlBadPage, out _, MemTxAttrs.UnspecifiedAttrs);
        if (badPage != ulong.MaxValue)
        {
            return Fail(badPage, $"the guest itself found page {badPage} not holding its previous write");
        }
        ulong nextPage = memory.LoadU64Le(ControlPage + ControlNextPage, out _, MemTxAttrs.UnspecifiedAttrs);
        ulong nextCount = memory.LoadU64Le(ControlPage + ControlNextCount, out _, MemTxAttrs.UnspecifiedAttrs);
        bool controlComplete = nextPage == writes % pages && nextCount == (writes / pages) + 1;
        if (!controlComplete && !paused)
        {
            return Fail(null, $"the control page's next page {nextPage} / count {nextCount} do not follow from {writes} writes");
        }
        ulong inFlight = paused ? writes % pages : ulong.MaxValue;
        byte[] page = new byte[PageSize];
        for (ulong i = 0; i < pages; i++)
        {
            ulong expected = (writes / pages) + (i < writes % pages ? 1UL : 0UL);
            ulong address = RegionBase + (i * PageSize);
            MemTxResult r = memory.Read(address, page, MemTxAttrs.UnspecifiedAttrs);
            if (r != MemTxResult.Ok)
            {
                return Fail(i, $"page {i} (0x{address:x}) cannot be read: {r}");
            }
            if (i == inFlight)
            {
                if (InFlightProblem(page, i, expected) is { } problem)
                {
                    return Fail(i, $"page {i} (0x{address:x}), the one being written: {problem}");
                }
                continue;
            }
            ulong count = BinaryPrimitives.ReadUInt64LittleEndian(page);
            if (count != expected)
            {
                string what = count + 1 == expected ? "a write was lost" : count == expected + 1 ? "a write was doubled" : "the count is wrong";
                return Fail(i, $"page {i} (0x{address:x}) was visited {count} times, {expected} expected: {what}");
            }
            if (expected == 0)
            {
                int nonZero = page.AsSpan().IndexOfAnyExcept((byte)0);
                if (nonZero >= 0)
                {
                    return Fail(i, $"page {i} (0x{address:x}) was never written but holds 0x{page[nonZero]:x2} at offset 0x{nonZero:x}");
                }
                continue;
            }
            ulong index = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(8));
            if (index != i)
            {
                return Fail(i, $"page {i} (0x{address:x}) says it is page {index}");
            }
            ulong pattern = Pattern(i, expected);
            for (int q = 16; q < page.Length; q += 8)
            {
                ulong v = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(q));
                if (v != pattern)
                {
                    return Fail(i, $"page {i} (0x{address:x}) holds 0x{v:x16} at offset 0x{q:x}, pattern 0x{pattern:x16} of visit {expected} expected");
                }
            }
        }
        if (!controlComplete)
        {
            return new DirtyVerification(true, writes, pages, checksum, null, null);
        }
        ulong sum = 0;
        for (ulong w = 0, i = 0, c = 1; w < writes; w++)
        {
            sum = NextChecksum(sum, Pattern(i, c));
            if (++i == pages)
            {
                i = 0;
                c++;
            }
        }
        if (sum != checksum)
        {
            return Fail(null, $"checksum 0x{checksum:x16}, but {writes} writes give 0x{sum:x16}");
        }
        return new DirtyVerification(true, writes, pages, checksum, null, null);
    }

    /// <summary>
    /// Why page <paramref name="i"/>, which a paused guest may be writing, is not somewhere between visit
    /// <paramref name="previous"/> (complete) and visit <paramref name="previous"/> + 1 (complete), or null.
    /// </summary>
    private static string? InFlightProblem(byte[] page, ulong i, ulong previous)
    {
        ulong next = previous + 1;
        ulong oldPattern = previous == 0 ? 0 : Pattern(i, previous);
        ulong newPattern = Pattern(i, next);
        ulong oldIndex = previous == 0 ? 0 : i;
        ulong count = BinaryPrimitives.ReadUInt64LittleEndian(page);
        ulong index = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(8));
        bool headerOld = count == previous && index == oldIndex;
        bool headerFilled = count == newPattern && (index == newPattern || index == oldIndex);
        bool headerNew = count == next && (index == i || index == newPattern); // the count is stored before the index
        if (!headerOld && !headerFilled && !headerNew)
        {
            return $"its header (count {count}, index {index}) is neither visit {previous}, visit {next} nor a fill in between";
        }
        // The fill goes front to back: new qwords, then old ones.
        bool seenOld = headerOld;
        for (int q = 16; q < page.Length; q += 8)
        {
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(q));
            if (v == newPattern && !seenOld)
            {
                continue;
            }
            if (v == oldPattern && !headerNew)
            {
                seenOld = true;
                continue;
            }
            return $"offset 0x{q:x} holds 0x{v:x16}, neither visit {previous}'s 0x{oldPattern:x16} after nor visit {next}'s 0x{newPattern:x16} before the fill's front";
        }
        return null;
    }
}
