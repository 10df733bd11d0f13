using Memspace.Inspection;
using Memspace.Printing;

namespace Memspace.Json;

/// <summary><c>memspace explain</c> as data: what serves an address, through which regions, and what is behind it.</summary>
internal sealed record ExplainDocument(
    string Address, string AddressSpace, ExplainViewJson View, FlatRangeJson? Range, SectionJson? Section,
    IReadOnlyList<StepJson> Steps, ExplainBlockJson? RamBlock, ExplainSlotJson? KvmSlot) : JsonDocumentBase("explain")
{
    public static ExplainDocument Build(AddressExplanation x, bool simulatedKvm)
    {
        SectionJson? section = x.Section is { } s
            ? new SectionJson(s.Region?.Name, JsonHex.Of(s.OffsetWithinRegion), JsonHex.Of(s.OffsetWithinAddressSpace), JsonHex.Of(s.Size), s.ReadOnly)
            : null;
        ExplainBlockJson? block = x.Block is { } b
            ? new ExplainBlockJson(b.IdStr, JsonHex.Of(b.Offset), JsonHex.Of(x.BlockOffset), JsonHex.Of(b.Offset + x.BlockOffset),
                b.Host == 0 ? null : JsonHex.Of(b.Host + (nint)x.BlockOffset))
            : null;
        ExplainSlotJson? slot = x.Slot is { } k
            ? new ExplainSlotJson((long)k.KernelSlot, JsonHex.Of(k.StartAddr), JsonHex.Of((UInt128)k.StartAddr + k.MemorySize), k.ReadOnly, JsonHex.Of(k.Ram), simulatedKvm)
            : null;
        return new ExplainDocument(
            JsonHex.Of(x.Address), x.Space.Name,
            new ExplainViewJson(x.View.Generation, x.View.Root?.Name, x.View.Count),
            x.Range is { } r ? FlatViewJsonBuilder.Range(r) : null,
            section,
            x.Steps.Select(st => new StepJson(
                st.Region.Name, st.Region.IsAlias ? "alias" : MtreePrinter.TypeName(st.Region), st.Region.Priority, st.Depth,
                JsonHex.Of(st.Offset), st.Role switch { RegionRole.Serves => "serves", RegionRole.Path => "path", _ => "hidden" }, st.Note)).ToList(),
            block,
            slot);
    }
}

/// <summary>The view the address was looked up in.</summary>
internal sealed record ExplainViewJson(long Generation, string? Root, int Ranges);

/// <summary>The <c>MemoryRegionSection</c> for the address's range.</summary>
internal sealed record SectionJson(string? Region, string OffsetWithinRegion, string OffsetWithinAddressSpace, string Size, bool ReadOnly);

/// <summary>One region covering the address, in the order the renderer tries them: its role is "serves", "path" or "hidden".</summary>
internal sealed record StepJson(string Region, string Type, int Priority, int Depth, string Offset, string Role, string Note);

/// <summary>The RAMBlock behind the address: its ram_addr offset, the offset in the block, the address's ram_addr and host address.</summary>
internal sealed record ExplainBlockJson(string Name, string Offset, string BlockOffset, string RamAddr, string? Host);

/// <summary>The KVM slot that maps the address.</summary>
internal sealed record ExplainSlotJson(long Slot, string Start, string End, bool ReadOnly, string UserspaceAddr, bool Simulated);
