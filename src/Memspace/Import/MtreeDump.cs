namespace Memspace.Import;

/// <summary>A parsed <c>info mtree</c> dump: address-space groups and <c>memory-region:</c> sections, in print order.</summary>
internal sealed class MtreeDump
{
    public List<(List<string> Names, ParsedRegion Root)> Groups { get; } = [];

    public List<ParsedRegion> Sections { get; } = [];

    /// <summary>The non-empty lines with their numbers (owner suffixes removed), for printing the graph back and comparing.</summary>
    public List<(int Number, string Text)> Lines { get; } = [];
}
