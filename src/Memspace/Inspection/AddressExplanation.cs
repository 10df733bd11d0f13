using Memspace.Kvm;
using Memspace.Listeners;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Inspection;

/// <summary>One region met while resolving an address, in the renderer's order.</summary>
/// <param name="Region">The region.</param>
/// <param name="Depth">Nesting depth below the address space root (aliases count as a level).</param>
/// <param name="Offset">The address as an offset into this region.</param>
/// <param name="Role">Whether it serves the address, leads to the region that does, or is hidden.</param>
/// <param name="Note">Why it is hidden, or what it contributes.</param>
public readonly record struct RegionStep(MemoryRegion Region, int Depth, ulong Offset, RegionRole Role, string Note);

/// <summary>What a region does for an address.</summary>
public enum RegionRole
{
    /// <summary>On the path from the root to the region that serves the address.</summary>
    Path,

    /// <summary>The region that serves the address.</summary>
    Serves,

    /// <summary>Covers the address but loses: disabled, lower priority, or an empty container.</summary>
    Hidden,
}

/// <summary>
/// Everything about one guest address in one address space: the flat range and section that serve it,
/// how the region tree leads there (aliases and offsets), which regions it hides, the RAMBlock and
/// host address behind it, and the KVM slot that maps it.
/// </summary>
public sealed record AddressExplanation
{
    /// <summary>The address.</summary>
    public required ulong Address { get; init; }

    /// <summary>The address space.</summary>
    public required AddressSpace Space { get; init; }

    /// <summary>The view the address space uses now.</summary>
    public required FlatView View { get; init; }

    /// <summary>The flat range that holds the address, or null if nothing is mapped there.</summary>
    public FlatRange? Range { get; init; }

    /// <summary>The section <c>address_space_translate</c> would return for one byte at the address.</summary>
    public MemoryRegionSection? Section { get; init; }

    /// <summary>Regions that cover the address, in the order the renderer tries them.</summary>
    public required IReadOnlyList<RegionStep> Steps { get; init; }

    /// <summary>The RAM block behind the address, or null.</summary>
    public RamBlock? Block { get; init; }

    /// <summary>Offset of the address in <see cref="Block"/>.</summary>
    public ulong BlockOffset { get; init; }

    /// <summary>The KVM slot that maps the address, or null.</summary>
    public KvmSlot? Slot { get; init; }
}
