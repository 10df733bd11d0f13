using Memspace.Diff;

namespace Memspace.Json;

/// <summary><c>memspace diff</c> as data.</summary>
internal sealed record DiffDocument(string Left, string Right, bool Equal, IReadOnlyList<SpaceDiffJson> AddressSpaces, IReadOnlyList<RegionDiffJson> Regions)
    : JsonDocumentBase("diff")
{
    public static DiffDocument Build(MemoryMapDiffResult diff, string left, string right)
        => new(left, right, diff.IsEqual,
            diff.AddressSpaces.Select(s => new SpaceDiffJson(
                s.Name, Presence(s.Presence), s.Added.Select(Range).ToList(), s.Removed.Select(Range).ToList(),
                s.Changed.Select(c => new RangeChangeJson(Range(c.Left), Range(c.Right))).ToList())).ToList(),
            diff.Regions.Select(r => new RegionDiffJson(
                r.Path, r.Presence switch { DiffPresence.Left => "removed", DiffPresence.Right => "added", _ => "changed" },
                r.Presence == DiffPresence.Both ? r.Differences.Select(d => new PropertyDiffJson(d.Property, d.Left, d.Right)).ToList() : null)).ToList());

    private static string Presence(DiffPresence p) => p switch
    {
        DiffPresence.Left => "left",
        DiffPresence.Right => "right",
        _ => "both",
    };

    private static FlatRangeJson Range(MapRange r) => new(
        JsonHex.Of(r.Start), JsonHex.Of(r.End), JsonHex.Of(r.End - r.Start), r.Type, r.Region, JsonHex.Of(r.OffsetInRegion), r.Priority,
        r.ReadOnly, r.NonVolatile, RomdMode: true, DirtyLogMask: 0);
}

/// <summary>One address space's range differences; <c>Presence</c> is "both", "left" or "right".</summary>
internal sealed record SpaceDiffJson(string Name, string Presence, IReadOnlyList<FlatRangeJson> Added, IReadOnlyList<FlatRangeJson> Removed, IReadOnlyList<RangeChangeJson> Changed);

/// <summary>A range with the same extent on both sides and different properties.</summary>
internal sealed record RangeChangeJson(FlatRangeJson Left, FlatRangeJson Right);

/// <summary>A region added, removed or changed; for a change, the properties that differ.</summary>
internal sealed record RegionDiffJson(string Path, string Change, IReadOnlyList<PropertyDiffJson>? Differences);

/// <summary>One property's value on each side.</summary>
internal sealed record PropertyDiffJson(string Property, string? Left, string? Right);
