namespace Memspace.Diff;

/// <summary>What <see cref="MemoryMapDiff.Compare"/> found.</summary>
/// <param name="AddressSpaces">Every address space of either side, A's order first, each with its range differences.</param>
/// <param name="Regions">The regions that differ, by path.</param>
public sealed record MemoryMapDiffResult(IReadOnlyList<AddressSpaceDiff> AddressSpaces, IReadOnlyList<RegionDiff> Regions)
{
    /// <summary>Whether the two maps are the same: the same flat ranges in every address space and the same regions.</summary>
    public bool IsEqual => AddressSpaces.All(a => a.IsEqual) && Regions.Count == 0;
}
