using Memspace.Ram;

namespace Memspace.Json;

/// <summary>The RAM list (<c>info ramblock</c>) as data, in RAMList order.</summary>
internal sealed record RamBlockDocument(IReadOnlyList<RamBlockJson> Blocks) : JsonDocumentBase("ramblock")
{
    public static RamBlockDocument Build(RamList list)
        => new(list.Blocks.Select(b => new RamBlockJson(
            b.IdStr, b.RegionName, (long)b.PageSize, JsonHex.Of(b.Offset), JsonHex.Of(b.UsedLength), JsonHex.Of(b.MaxLength),
            b.Flags.ToString())).ToList());
}

/// <summary>One RAMBlock: its id, region, page size in bytes, ram_addr offset, used and reserved length, and flags.</summary>
internal sealed record RamBlockJson(string Name, string Region, long PageSize, string Offset, string Used, string Total, string Flags);
