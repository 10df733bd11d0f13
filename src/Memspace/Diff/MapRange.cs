using Memspace.Printing;
using Memspace.Rendering;

namespace Memspace.Diff;

/// <summary>
/// A flat range as <c>info mtree -f</c> shows it, the unit <see cref="MemoryMapDiff"/> compares:
/// <c>[Start, End)</c>, the type column, the region that serves it and the offset there.
/// </summary>
/// <param name="Start">First address.</param>
/// <param name="End">One past the last address (up to 2^64).</param>
/// <param name="Type">"ram", "rom", "romd", "ramd" or "i/o" (a read-only range of RAM is "rom").</param>
/// <param name="Region">The serving region's name.</param>
/// <param name="OffsetInRegion">Offset of <paramref name="Start"/> in the region.</param>
/// <param name="Priority">The region's priority, as printed.</param>
/// <param name="ReadOnly">Read-only here.</param>
/// <param name="NonVolatile">Non-volatile here.</param>
public readonly record struct MapRange(ulong Start, UInt128 End, string Type, string Region, ulong OffsetInRegion, int Priority, bool ReadOnly, bool NonVolatile)
{
    internal static MapRange From(in FlatRange r) => new(
        r.Start, r.End, r.ReadOnly ? "rom" : MtreePrinter.TypeName(r.Region), r.Region.Name, r.OffsetInRegion, r.Region.Priority, r.ReadOnly, r.NonVolatile);

    /// <inheritdoc/>
    public override string ToString()
        => $"[0x{Start:x}, 0x{End:x}) {(NonVolatile ? "nv-" : "")}{Type} '{Region}'{(OffsetInRegion != 0 ? $" @0x{OffsetInRegion:x}" : "")}{(Priority != 0 ? $" prio {Priority}" : "")}";
}
