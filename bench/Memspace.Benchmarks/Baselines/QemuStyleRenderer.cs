using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Benchmarks.Baselines;

/// <summary>
/// The rendering algorithm QEMU uses (<c>render_memory_region</c>), written here as a baseline:
/// depth-first, each terminal region scans the sorted range array from the start for gaps and inserts
/// into it (O(N) memmove per insertion), then adjacent ranges are merged. Same result as
/// <see cref="FlatViewRenderer"/>, QEMU's cost.
/// </summary>
internal static class QemuStyleRenderer
{
    public static List<FlatRange> Render(MemoryRegion root)
    {
        var view = new List<FlatRange>();
        Render(view, root, 0, 0, (Int128)1 << 64, false, false);
        Simplify(view);
        return view;
    }

    private static void Render(List<FlatRange> view, MemoryRegion mr, Int128 b, Int128 clipStart, Int128 clipEnd, bool ro, bool nv)
    {
        if (!mr.Enabled)
        {
            return;
        }
        b += (Int128)mr.Address;
        ro |= mr.ReadOnly;
        nv |= mr.NonVolatile;
        Int128 end = b + (Int128)mr.Size;
        bool intersects = (clipStart >= b && clipStart < end) || (b >= clipStart && b < clipEnd);
        if (!intersects)
        {
            return;
        }
        clipStart = Int128.Max(clipStart, b);
        clipEnd = Int128.Min(clipEnd, end);
        if (mr.AliasTarget is { } t)
        {
            Render(view, t, b - (Int128)t.Address - (Int128)mr.AliasOffset, clipStart, clipEnd, ro, nv);
            return;
        }
        foreach (MemoryRegion sub in mr.Subregions)
        {
            Render(view, sub, b, clipStart, clipEnd, ro, nv);
        }
        if (!mr.Terminates)
        {
            return;
        }
        Int128 at = clipStart;
        Int128 remain = clipEnd - clipStart;
        int i = 0;
        for (; i < view.Count && remain > 0; i++)
        {
            Int128 rs = view[i].Start;
            Int128 re = (Int128)view[i].End;
            if (at >= re)
            {
                continue;
            }
            if (at < rs)
            {
                Int128 now = Int128.Min(remain, rs - at);
                view.Insert(i, Make(mr, b, at, now, ro, nv));
                i++;
                at += now;
                remain -= now;
            }
            Int128 skip = Int128.Min(at + remain, re) - at;
            at += skip;
            remain -= skip;
        }
        if (remain > 0)
        {
            view.Insert(i, Make(mr, b, at, remain, ro, nv));
        }
    }

    private static FlatRange Make(MemoryRegion mr, Int128 b, Int128 at, Int128 size, bool ro, bool nv)
        => new(mr, (ulong)(at - b), (ulong)at, (UInt128)size, mr.OwnDirtyLogMask, mr.RomdMode, ro, nv, false);

    private static void Simplify(List<FlatRange> view)
    {
        int w = 0;
        for (int r = 0; r < view.Count; r++)
        {
            if (w > 0 && view[w - 1].CanMerge(view[r]))
            {
                view[w - 1] = view[w - 1] with { Size = view[w - 1].Size + view[r].Size };
            }
            else
            {
                view[w++] = view[r];
            }
        }
        view.RemoveRange(w, view.Count - w);
    }
}
