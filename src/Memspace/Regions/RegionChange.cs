namespace Memspace.Regions;

/// <summary>
/// A change to the graph as the renderer needs to know it: the addresses of <see cref="Region"/> (in its
/// own coordinates) whose rendering may differ, and whether the region's own rendering changed
/// (<see cref="Content"/>) or only whether it is seen at all (an enable or disable, which matters to its
/// container and to the aliases that show it).
/// </summary>
/// <param name="Region">The region.</param>
/// <param name="Start">First local address that may differ.</param>
/// <param name="End">One past the last.</param>
/// <param name="Content">The region's own rendering changed there; false: only its visibility did.</param>
internal readonly record struct RegionChange(MemoryRegion Region, UInt128 Start, UInt128 End, bool Content);
