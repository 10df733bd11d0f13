namespace Memspace.Import;

/// <summary>A parsed <c>info mtree</c> dump: address-space groups and <c>memory-region:</c> sections, in print order.</summary>
internal sealed class MtreeDump
{
    public List<(List<string> Names, ParsedRegion Root)> Groups { get; } = [];

    public List<ParsedRegion> Sections { get; } = [];
}
