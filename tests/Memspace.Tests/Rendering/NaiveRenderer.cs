using Memspace.Regions;

namespace Memspace.Tests.Rendering;

/// <summary>
/// A deliberately naive reference renderer, independent of the library's: it resolves single
/// addresses by walking the graph ("which terminal region is the first, in QEMU's walk order, whose
/// clipped extent holds this address?") and builds ranges by resolving every address where the answer
/// could change.
/// </summary>
internal static class NaiveRenderer
{
    private static readonly Int128 s_top = (Int128)1 << 64;

    public sealed record Hit(MemoryRegion Region, ulong Offset, bool ReadOnly, bool NonVolatile, bool Unmergeable, string Path);

    public sealed record Range(ulong Start, UInt128 Size, MemoryRegion Region, ulong Offset, bool ReadOnly, bool NonVolatile, bool Unmergeable)
    {
        public override string ToString()
            => $"[0x{Start:x},0x{(UInt128)Start + Size:x}) {Region.Name}@0x{Offset:x}{(ReadOnly ? " ro" : "")}{(NonVolatile ? " nv" : "")}{(Unmergeable ? " um" : "")}";
    }

    /// <summary>The region serving <paramref name="address"/> in an address space rooted at <paramref name="root"/>.</summary>
    public static Hit? Resolve(MemoryRegion root, ulong address)
        => Resolve(root, address, 0, 0, s_top, false, false, false, "r");

    private static Hit? Resolve(MemoryRegion mr, Int128 x, Int128 parentBase, Int128 clipLo, Int128 clipHi,
        bool ro, bool nv, bool um, string path)
    {
        if (!mr.Enabled)
        {
            return null;
        }
        Int128 b = parentBase + (Int128)mr.Address;
        Int128 lo = Int128.Max(b, clipLo);
        Int128 hi = Int128.Min(b + (Int128)mr.Size, clipHi);
        if (x < lo || x >= hi)
        {
            return null;
        }
        ro |= mr.ReadOnly;
        nv |= mr.NonVolatile;
        um |= mr.Unmergeable;
        if (mr.AliasTarget is { } t)
        {
            return Resolve(t, x, b - (Int128)t.Address - (Int128)mr.AliasOffset, lo, hi, ro, nv, um, path + "/a");
        }
        for (int i = 0; i < mr.Subregions.Count; i++)
        {
            Hit? h = Resolve(mr.Subregions[i], x, b, lo, hi, ro, nv, um, path + "/" + i);
            if (h is not null)
            {
                return h;
            }
        }
        return mr.Terminates ? new Hit(mr, (ulong)(x - b), ro, nv, um, path) : null;
    }

    /// <summary>Every address where the answer of <see cref="Resolve"/> could change.</summary>
    private static void Breakpoints(MemoryRegion mr, Int128 parentBase, Int128 clipLo, Int128 clipHi, SortedSet<Int128> points, int depth)
    {
        if (depth > 4096)
        {
            throw new InvalidOperationException("graph too deep for the naive renderer");
        }
        if (!mr.Enabled)
        {
            return;
        }
        Int128 b = parentBase + (Int128)mr.Address;
        Int128 lo = Int128.Max(b, clipLo);
        Int128 hi = Int128.Min(b + (Int128)mr.Size, clipHi);
        if (lo >= hi)
        {
            return;
        }
        points.Add(lo);
        points.Add(hi);
        if (mr.AliasTarget is { } t)
        {
            Breakpoints(t, b - (Int128)t.Address - (Int128)mr.AliasOffset, lo, hi, points, depth + 1);
            return;
        }
        foreach (MemoryRegion sub in mr.Subregions)
        {
            Breakpoints(sub, b, lo, hi, points, depth + 1);
        }
    }

    /// <summary>The ranges QEMU would render, merged by QEMU's rule.</summary>
    public static List<Range> Render(MemoryRegion? root)
    {
        var result = new List<Range>();
        if (root is null)
        {
            return result;
        }
        var points = new SortedSet<Int128> { 0, s_top };
        Breakpoints(root, 0, 0, s_top, points, 0);
        Int128[] p = [.. points];
        Hit? prevHit = null;
        for (int i = 0; i + 1 < p.Length; i++)
        {
            Int128 start = p[i];
            Int128 end = p[i + 1];
            Hit? h = Resolve(root, (ulong)start);
            if (h is null)
            {
                prevHit = null;
                continue;
            }
            if (result.Count > 0 && prevHit is not null)
            {
                Range last = result[^1];
                bool adjacent = (UInt128)last.Start + last.Size == (UInt128)start;
                bool sameMapping = last.Region == h.Region && (UInt128)last.Offset + last.Size == h.Offset
                                   && last.ReadOnly == h.ReadOnly && last.NonVolatile == h.NonVolatile
                                   && last.Unmergeable == h.Unmergeable;
                bool mayMerge = !h.Unmergeable || prevHit.Path == h.Path;
                if (adjacent && sameMapping && mayMerge)
                {
                    result[^1] = last with { Size = last.Size + (UInt128)(end - start) };
                    prevHit = h;
                    continue;
                }
            }
            result.Add(new Range((ulong)start, (UInt128)(end - start), h.Region, h.Offset, h.ReadOnly, h.NonVolatile, h.Unmergeable));
            prevHit = h;
        }
        return result;
    }
}
