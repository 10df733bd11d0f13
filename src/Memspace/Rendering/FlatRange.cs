using Memspace.Regions;

namespace Memspace.Rendering;

/// <summary>
/// One piece of a rendered address space (QEMU's <c>FlatRange</c>): the addresses
/// [<see cref="Start"/>, <see cref="Start"/> + <see cref="Size"/>) are served by the terminal region
/// <see cref="Region"/> from offset <see cref="OffsetInRegion"/>. <see cref="Region"/> is never an
/// alias or a pure container.
/// </summary>
/// <param name="Region">The terminal region that serves the range.</param>
/// <param name="OffsetInRegion">Offset inside <paramref name="Region"/> of the first byte.</param>
/// <param name="Start">First address of the range.</param>
/// <param name="Size">Size in bytes (up to 2^64).</param>
/// <param name="DirtyLogMask">Dirty-log clients that log the region.</param>
/// <param name="RomdMode">The region's romd mode.</param>
/// <param name="ReadOnly">Read-only here: the region or an alias or container on the path to it is read-only.</param>
/// <param name="NonVolatile">Non-volatile here, accumulated like <paramref name="ReadOnly"/>.</param>
/// <param name="Unmergeable">Never merged with a neighbour, accumulated like <paramref name="ReadOnly"/>.</param>
public readonly record struct FlatRange(
    MemoryRegion Region,
    ulong OffsetInRegion,
    ulong Start,
    UInt128 Size,
    byte DirtyLogMask,
    bool RomdMode,
    bool ReadOnly,
    bool NonVolatile,
    bool Unmergeable)
{
    /// <summary>One past the last address (up to 2^64).</summary>
    public UInt128 End => Start + Size;

    /// <summary>The last address of the range.</summary>
    public ulong Last => (ulong)(End - 1);

    /// <summary>Whether <paramref name="address"/> lies in the range.</summary>
    /// <param name="address">A guest address.</param>
    public bool Contains(ulong address) => address >= Start && address - Start < Size;

    /// <summary>
    /// QEMU's <c>flatrange_equal</c>, used by the listener diff: everything but the dirty-log mask
    /// (a change of mask alone is reported as <c>region_nop</c> plus <c>log_start</c>/<c>log_stop</c>).
    /// </summary>
    /// <param name="other">The range to compare with.</param>
    public bool SameMapping(in FlatRange other)
        => Region == other.Region
           && Start == other.Start
           && Size == other.Size
           && OffsetInRegion == other.OffsetInRegion
           && RomdMode == other.RomdMode
           && ReadOnly == other.ReadOnly
           && NonVolatile == other.NonVolatile
           && Unmergeable == other.Unmergeable;

    /// <summary>QEMU's <c>can_merge</c>: whether <paramref name="next"/> continues this range seamlessly.</summary>
    /// <param name="next">The range that follows.</param>
    internal bool CanMerge(in FlatRange next)
        => End == next.Start
           && Region == next.Region
           && (UInt128)OffsetInRegion + Size == next.OffsetInRegion
           && DirtyLogMask == next.DirtyLogMask
           && RomdMode == next.RomdMode
           && ReadOnly == next.ReadOnly
           && NonVolatile == next.NonVolatile
           && !Unmergeable && !next.Unmergeable;

    /// <inheritdoc/>
    public override string ToString()
        => $"[0x{Start:x}, 0x{End:x}) {Region.Name}" + (OffsetInRegion != 0 ? $" @0x{OffsetInRegion:x}" : "")
           + (ReadOnly ? " ro" : "") + (NonVolatile ? " nv" : "") + (Unmergeable ? " unmergeable" : "")
           + (RomdMode ? "" : " !romd") + (DirtyLogMask != 0 ? $" log=0x{DirtyLogMask:x}" : "");
}
