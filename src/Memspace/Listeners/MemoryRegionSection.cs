using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Listeners;

/// <summary>
/// A contiguous part of one region as seen in an address space (QEMU's
/// <c>MemoryRegionSection</c>): the payload of listener callbacks and of
/// <c>MemoryRegion.Find</c>. Made on demand from a <see cref="FlatRange"/>.
/// </summary>
/// <param name="Region">The terminal region, or null (ioeventfd callbacks and failed lookups have none).</param>
/// <param name="FlatView">The view the section was taken from.</param>
/// <param name="OffsetWithinRegion">Offset inside <paramref name="Region"/> of the first byte.</param>
/// <param name="Size">Size in bytes (up to 2^64).</param>
/// <param name="OffsetWithinAddressSpace">Guest address of the first byte.</param>
/// <param name="ReadOnly">Whether the section is read-only (the region, or an alias or container above it).</param>
/// <param name="NonVolatile">Whether the section is non-volatile.</param>
/// <param name="Unmergeable">Whether the section must not be merged with neighbours (one memslot each).</param>
public readonly record struct MemoryRegionSection(
    MemoryRegion? Region,
    FlatView? FlatView,
    ulong OffsetWithinRegion,
    UInt128 Size,
    ulong OffsetWithinAddressSpace,
    bool ReadOnly,
    bool NonVolatile,
    bool Unmergeable)
{
    /// <summary>The section QEMU's <c>section_from_flat_range</c> builds.</summary>
    /// <param name="range">The range.</param>
    /// <param name="view">The view that holds it.</param>
    public static MemoryRegionSection FromFlatRange(in FlatRange range, FlatView view)
        => new(range.Region, view, range.OffsetInRegion, range.Size, range.Start, range.ReadOnly, range.NonVolatile, range.Unmergeable);

    /// <summary>
    /// The section of the first range of <paramref name="view"/> that intersects [<paramref name="address"/>,
    /// <paramref name="address"/> + <paramref name="size"/>), clipped to that interval (the lookup of
    /// <c>memory_region_find</c>); a default section when nothing intersects.
    /// </summary>
    /// <param name="view">The view to look in.</param>
    /// <param name="address">First address.</param>
    /// <param name="size">Size of the interval.</param>
    public static MemoryRegionSection Find(FlatView view, ulong address, ulong size)
    {
        ArgumentNullException.ThrowIfNull(view);
        int i = view.FirstIntersecting(address, size);
        if (i < 0)
        {
            return default;
        }
        FlatRange fr = view.RangeSpan[i];
        UInt128 start = UInt128.Max(address, fr.Start);
        UInt128 stop = UInt128.Min((UInt128)address + size, fr.End);
        return new MemoryRegionSection(
            fr.Region, view, fr.OffsetInRegion + (ulong)(start - fr.Start), stop - start, (ulong)start,
            fr.ReadOnly, fr.NonVolatile, fr.Unmergeable);
    }

    /// <summary>One past the last guest address.</summary>
    public UInt128 End => OffsetWithinAddressSpace + Size;

    /// <inheritdoc/>
    public override string ToString()
        => $"{Region?.Name ?? "(none)"} [0x{OffsetWithinAddressSpace:x}, 0x{End:x}) @0x{OffsetWithinRegion:x}"
           + (ReadOnly ? " ro" : "") + (NonVolatile ? " nv" : "") + (Unmergeable ? " unmergeable" : "");
}
