namespace Memspace.Rendering;

/// <summary>
/// A signed 128-bit address interval [Start, End) (QEMU's <c>AddrRange</c>); signed because an alias
/// with a large offset can move a base below zero.
/// </summary>
internal readonly record struct AddrRange(Int128 Start, Int128 End)
{
    public Int128 Size => End - Start;

    /// <summary>QEMU's <c>addrrange_intersects</c>: one range contains the other's start.</summary>
    public bool Intersects(AddrRange other)
        => (other.Start >= Start && other.Start < End) || (Start >= other.Start && Start < other.End);

    /// <summary>QEMU's <c>addrrange_intersection</c>; meaningful when <see cref="Intersects"/> holds.</summary>
    public AddrRange Intersection(AddrRange other)
        => new(Int128.Max(Start, other.Start), Int128.Min(End, other.End));

    /// <summary>The range of a flat range.</summary>
    public static AddrRange Of(in FlatRange fr) => new(fr.Start, (Int128)fr.End);

    /// <summary>
    /// Where offsets [<paramref name="offset"/>, + <paramref name="size"/>) of the flat range's region
    /// would lie in the address space if the whole region were shown the way the flat range shows it.
    /// </summary>
    public static AddrRange InAddressSpace(in FlatRange fr, ulong offset, UInt128 size)
    {
        Int128 start = (Int128)offset + (Int128)fr.Start - (Int128)fr.OffsetInRegion;
        return new(start, start + (Int128)size);
    }
}
