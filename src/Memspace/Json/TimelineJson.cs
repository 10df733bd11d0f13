using System.Globalization;
using System.Text.Json.Serialization;
using Memspace.Tracing;
using Memspace.Vcpus;

namespace Memspace.Json;

/// <summary>
/// One timeline step as a typed object: the common fields, then those of its payload, chosen by
/// <c>type</c> (one per <see cref="ChainPayload"/> record). <c>Text</c> is the event's one-line
/// description.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(NoteEventJson), "note")]
[JsonDerivedType(typeof(RegionChangeEventJson), "regionChange")]
[JsonDerivedType(typeof(SectionEventJson), "section")]
[JsonDerivedType(typeof(CommitEventJson), "commit")]
[JsonDerivedType(typeof(AddressSpaceEventJson), "addressSpace")]
[JsonDerivedType(typeof(RamBlockEventJson), "ramBlock")]
[JsonDerivedType(typeof(SlotIoctlEventJson), "slotIoctl")]
[JsonDerivedType(typeof(SlotEventJson), "slot")]
[JsonDerivedType(typeof(VcpuExitEventJson), "vcpuExit")]
internal abstract record ChainEventJson
{
    public long Sequence { get; init; }

    public double TimeMs { get; init; }

    public string Structure { get; init; } = "";

    public string Source { get; init; } = "";

    public string Text { get; init; } = "";

    /// <summary>Converts a timeline event.</summary>
    public static ChainEventJson From(ChainEvent e)
    {
        ChainEventJson json = e.Payload switch
        {
            NoteEvent => new NoteEventJson(),
            RegionChangeEvent p => new RegionChangeEventJson(p.Region, p.Operation),
            SectionEvent p => new SectionEventJson(
                p.AddressSpace, p.Callback, JsonHex.Of(p.Start), JsonHex.Of(p.End), p.Kind, p.Region, JsonHex.Of(p.OffsetInRegion), p.OldLogMask, p.NewLogMask),
            CommitEvent p => new CommitEventJson(p.Commit, p.Views.Select(v => new RenderedViewJson(v.AddressSpaces, v.Generation, v.Root, v.Ranges)).ToList()),
            AddressSpaceEvent p => new AddressSpaceEventJson(p.Name, p.Root),
            RamBlockEvent p => new RamBlockEventJson(p.IdStr, p.Added, JsonHex.Of(p.Offset), JsonHex.Of(p.UsedLength), JsonHex.Of(p.MaxLength), JsonHex.Of(p.Host)),
            SlotIoctlEvent p => new SlotIoctlEventJson(SlotsDocument.Ioctl(p.Ioctl)),
            SlotEvent p => new SlotEventJson((long)p.Slot, JsonHex.Of(p.Start), JsonHex.Of(p.Size), (long)p.Flags),
            VcpuExitEvent p => new VcpuExitEventJson(p.Vcpu, ExitOf(p.Exit), p.AddressSpace, p.Region),
            _ => new NoteEventJson(),
        };
        return json with
        {
            Sequence = e.Sequence,
            TimeMs = Math.Round(e.Time.TotalMilliseconds, 3),
            Structure = ChainEvent.StructureName(e.Structure),
            Source = e.Source,
            Text = e.Text,
        };
    }

    internal static VcpuExitJson ExitOf(VcpuExit x) => new(
        KindName(x.Kind), JsonHex.Of(x.Address), x.Size, x.Count, x.IsWrite, JsonHex.Of(x.Data), x.Result.ToString(), x.Detail);

    private static string KindName(VcpuExitKind kind)
    {
        string name = kind.ToString();
        return char.ToLower(name[0], CultureInfo.InvariantCulture) + name[1..];
    }
}

/// <summary>A machine construction phase or device note (the text is all).</summary>
internal sealed record NoteEventJson : ChainEventJson;

/// <summary>A region was mapped, unmapped, moved, enabled or disabled; <c>Operation</c> is QEMU's function.</summary>
internal sealed record RegionChangeEventJson(string Region, string Operation) : ChainEventJson;

/// <summary>A listener callback with its section.</summary>
internal sealed record SectionEventJson(
    string AddressSpace, string Callback, string Start, string End, string RegionType, string Region, string OffsetInRegion,
    int? OldLogMask, int? NewLogMask) : ChainEventJson;

/// <summary>A commit and the views in use after it.</summary>
internal sealed record CommitEventJson(long Commit, IReadOnlyList<RenderedViewJson> Views) : ChainEventJson;

/// <summary>One view after a commit.</summary>
internal sealed record RenderedViewJson(IReadOnlyList<string> AddressSpaces, long Generation, string Root, int Ranges);

/// <summary>An address space was created.</summary>
internal sealed record AddressSpaceEventJson(string Name, string Root) : ChainEventJson;

/// <summary>A RAMBlock joined or left the RAM list.</summary>
internal sealed record RamBlockEventJson(string Name, bool Added, string Offset, string Used, string Total, string Host) : ChainEventJson;

/// <summary>A <c>KVM_SET_USER_MEMORY_REGION</c> ioctl.</summary>
internal sealed record SlotIoctlEventJson(SlotIoctlJson Ioctl) : ChainEventJson;

/// <summary>A KVM slot was set (size non-zero) or freed.</summary>
internal sealed record SlotEventJson(long Slot, string Start, string Size, long Flags) : ChainEventJson;

/// <summary>A vCPU exit, the address space that served it and the region at its address.</summary>
internal sealed record VcpuExitEventJson(int Vcpu, VcpuExitJson Exit, string? AddressSpace, string? Region) : ChainEventJson;

/// <summary>A vCPU exit's data.</summary>
internal sealed record VcpuExitJson(string Kind, string Address, uint Size, uint Count, bool Write, string Data, string Result, string? Detail);
