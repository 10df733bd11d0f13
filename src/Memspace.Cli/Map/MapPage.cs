using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Memspace.Cli.Commands;
using Memspace.Inspection;
using Memspace.Kvm;
using Memspace.Printing;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Cli.Map;

/// <summary>
/// <c>memspace map</c>'s page: one self-contained HTML file (inline style and script, no network
/// access, no external reference) with one lane per address space showing its flat ranges coloured
/// by kind on a log2 scale, the region tree beside it, and the <c>memspace explain</c> text for any
/// address, filled in from precomputed <see cref="ExplanationTemplate"/>s.
/// </summary>
internal static class MapPage
{
    /// <summary>Writes the page for <paramref name="system"/>.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="title">What the map is of (machine or dump).</param>
    /// <param name="kvm">The accelerator whose slots explanations name, or null.</param>
    public static string Build(MemorySystem system, string title, KvmAccelerator? kvm)
    {
        ArgumentNullException.ThrowIfNull(system);
        bool simulated = kvm is { RealVm: null };
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.Default }))
        {
            w.WriteStartObject();
            w.WriteString("title", title);
            w.WriteStartArray("spaces");
            foreach (AddressSpace space in system.AddressSpaces)
            {
                WriteSpace(w, space, kvm, simulated);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        // The default encoder escapes '<', '>' and '&', so the data cannot end its script element.
        string data = Encoding.UTF8.GetString(json.ToArray());
        return Template().Replace("{{TITLE}}", WebUtility.HtmlEncode(title), StringComparison.Ordinal)
            .Replace("{{DATA}}", data, StringComparison.Ordinal);
    }

    /// <summary>Kind of a flat range as <c>info mtree -f</c> and <c>explain</c> name it: ram, rom, romd or i/o.</summary>
    public static string Kind(in FlatRange r)
        => r.Region.IsRomd ? "romd" : r.Region.IsRam ? (r.ReadOnly || r.Region.ReadOnly ? "rom" : "ram") : "i/o";

    private static void WriteSpace(Utf8JsonWriter w, AddressSpace space, KvmAccelerator? kvm, bool simulated)
    {
        var slotBounds = new List<ulong>();
        KvmMemoryListener? listener = kvm is null ? null : space == kvm.MemorySpace ? kvm.MemoryListener : space == kvm.SmramSpace ? kvm.SmramListener : null;
        foreach (KvmSlot slot in listener?.Slots ?? [])
        {
            if (slot.MemorySize != 0)
            {
                slotBounds.Add(slot.StartAddr);
                slotBounds.Add(slot.StartAddr + slot.MemorySize);
            }
        }
        w.WriteStartObject();
        w.WriteString("name", space.Name);
        w.WriteString("root", space.Root.Name);
        w.WriteString("size", Hex(space.Root.Size));
        w.WriteStartArray("ranges");
        foreach (FlatRange r in space.CurrentMap.Ranges)
        {
            AddressExplanation x = AddressExplainer.Explain(space, r.Start, kvm);
            bool viaAlias = x.Steps.Any(s => s.Role == RegionRole.Path && s.Region.IsAlias);
            w.WriteStartObject();
            w.WriteString("start", Hex(r.Start));
            w.WriteString("end", Hex(r.End));
            w.WriteString("region", r.Region.Name);
            w.WriteString("kind", Kind(r));
            w.WriteBoolean("alias", viaAlias);
            w.WriteString("offset", Hex(r.OffsetInRegion));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("explain");
        foreach (ExplanationTemplate t in ExplanationTable.Build(space, a => ExplainText.Format(AddressExplainer.Explain(space, a, kvm), simulated), slotBounds))
        {
            w.WriteStartArray();
            w.WriteStringValue(Hex(t.Start));
            w.WriteStartArray();
            foreach (string part in t.Parts)
            {
                w.WriteStringValue(part);
            }
            w.WriteEndArray();
            w.WriteStartArray();
            foreach ((ulong b, int width) in t.Values)
            {
                w.WriteStringValue(Hex(b));
                w.WriteNumberValue(width);
            }
            w.WriteEndArray();
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WritePropertyName("tree");
        WriteRegion(w, space.Root, 0, 0);
        w.WriteEndObject();
    }

    /// <summary>A region and its subregions as the tree panel shows them; an alias names its target instead of repeating it.</summary>
    private static void WriteRegion(Utf8JsonWriter w, MemoryRegion mr, UInt128 origin, int depth)
    {
        w.WriteStartObject();
        w.WriteString("name", mr.Name);
        w.WriteString("start", Hex(origin));
        w.WriteString("last", Hex(mr.Size == 0 ? origin : origin + mr.Size - 1));
        w.WriteNumber("prio", mr.Priority);
        w.WriteString("type", mr.IsAlias ? "alias" : MtreePrinter.TypeName(mr));
        w.WriteBoolean("enabled", mr.Enabled);
        if (mr.AliasTarget is { } target)
        {
            w.WriteString("target", target.Name);
            w.WriteString("targetOffset", Hex(mr.AliasOffset));
        }
        if (mr.AliasTarget is null && mr.Subregions.Count > 0 && depth < 64)
        {
            w.WriteStartArray("children");
            foreach (MemoryRegion sub in mr.Subregions)
            {
                WriteRegion(w, sub, origin + sub.Address, depth + 1);
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static string Hex(UInt128 v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static string Template() => MapPageTemplate.Html;
}
