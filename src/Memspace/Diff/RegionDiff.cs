namespace Memspace.Diff;

/// <summary>A region that one side lacks, or whose properties differ.</summary>
/// <param name="Path">Names from the top of its tree joined by '/', with " @0xSTART" when several regions share the path.</param>
/// <param name="Presence">Which sides have it.</param>
/// <param name="Differences">For a region on both sides: each property that differs, with its value on each side.</param>
public sealed record RegionDiff(string Path, DiffPresence Presence, IReadOnlyList<(string Property, string Left, string Right)> Differences);
