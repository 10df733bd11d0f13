using Memspace.Printing;
using Memspace.Rendering;

namespace Memspace.Json;

/// <summary>The rendered views (<c>info mtree -f</c>) as data.</summary>
internal sealed record FlatViewDocument(IReadOnlyList<FlatViewJson> Views) : JsonDocumentBase("flatview");

/// <summary>One view, the address spaces that use it and its ranges in address order.</summary>
internal sealed record FlatViewJson(IReadOnlyList<ViewSpaceJson> AddressSpaces, string? Root, IReadOnlyList<FlatRangeJson> Ranges);

/// <summary>An address space using a view: its name, its root region, and the region that root aliases, if it is an alias.</summary>
internal sealed record ViewSpaceJson(string Name, string Root, string? AliasOf);

/// <summary>
/// One flat range: <c>[Start, End)</c>, its type as <c>info mtree -f</c> prints it (a read-only range of
/// RAM is "rom"), the region that serves it and the offset of its first byte in that region.
/// </summary>
internal sealed record FlatRangeJson(
    string Start, string End, string Size, string Type, string Region, string OffsetInRegion, int Priority,
    bool ReadOnly, bool NonVolatile, bool RomdMode, int DirtyLogMask);

/// <summary>Builds <see cref="FlatViewDocument"/>s.</summary>
internal static class FlatViewJsonBuilder
{
    public static FlatViewDocument Build(MemorySystem system)
    {
        lock (system.TopologyLock)
        {
            List<(FlatView View, List<AddressSpace> Spaces)> views = Printing.FlatViewPrinter.ByView(system);
            return new FlatViewDocument(views.Select(v => new FlatViewJson(
                v.Spaces.Select(s => new ViewSpaceJson(s.Name, s.Root.Name, s.Root.AliasTarget?.Name)).ToList(),
                v.View.Root?.Name,
                v.View.Ranges.Select(Range).ToList())).ToList());
        }
    }

    internal static FlatRangeJson Range(FlatRange r) => new(
        JsonHex.Of(r.Start), JsonHex.Of(r.End), JsonHex.Of(r.Size), TypeOf(r), r.Region.Name, JsonHex.Of(r.OffsetInRegion),
        r.Region.Priority, r.ReadOnly, r.NonVolatile, r.RomdMode, r.DirtyLogMask);

    /// <summary>The type column of <c>info mtree -f</c>.</summary>
    internal static string TypeOf(FlatRange r) => r.ReadOnly ? "rom" : MtreePrinter.TypeName(r.Region);
}
