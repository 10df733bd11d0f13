using System.Text.Encodings.Web;
using System.Text.Json;
using Memspace.Diff;
using Memspace.Inspection;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Ram;
using Memspace.Tracing;

namespace Memspace.Json;

/// <summary>
/// Memspace's machine-readable output: each method returns one JSON document of schema
/// <c>memspace/1</c> (docs/json/memspace.schema.json), with a <c>kind</c> naming the document.
/// Addresses and sizes are <c>0x</c>-prefixed hex strings. The writers are source-generated and work
/// under NativeAOT.
/// </summary>
public static class MemspaceJson
{
    /// <summary>The schema version every document carries in its <c>schema</c> field.</summary>
    public const string SchemaVersion = JsonDocumentBase.SchemaVersion;

    // Names such as "Q35 + ICH9" stay readable: only what JSON requires is escaped.
    private static readonly MemspaceJsonContext Context = new(new JsonSerializerOptions(MemspaceJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>The region graph (<c>kind: mtree</c>): address spaces and every region they reach, disabled ones included, with owners.</summary>
    /// <param name="system">The memory system.</param>
    public static string Mtree(MemorySystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        return JsonSerializer.Serialize(MtreeJson.Build(system), Context.MtreeDocument);
    }

    /// <summary>The rendered views (<c>kind: flatview</c>) with the address spaces that use each.</summary>
    /// <param name="system">The memory system.</param>
    public static string FlatViews(MemorySystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        return JsonSerializer.Serialize(FlatViewJsonBuilder.Build(system), Context.FlatViewDocument);
    }

    /// <summary>The RAMBlocks (<c>kind: ramblock</c>) in RAMList order.</summary>
    /// <param name="ramList">The RAM list.</param>
    public static string RamBlocks(RamList ramList)
    {
        ArgumentNullException.ThrowIfNull(ramList);
        return JsonSerializer.Serialize(RamBlockDocument.Build(ramList), Context.RamBlockDocument);
    }

    /// <summary>KVM's slot ioctls and final slot table (<c>kind: slots</c>).</summary>
    /// <param name="kvm">The accelerator.</param>
    /// <param name="simulatedReason">Why the VM is simulated, if it is.</param>
    public static string Slots(KvmAccelerator kvm, string? simulatedReason = null)
    {
        ArgumentNullException.ThrowIfNull(kvm);
        return JsonSerializer.Serialize(SlotsDocument.Build(kvm, simulatedReason), Context.SlotsDocument);
    }

    /// <summary>An address explanation (<c>kind: explain</c>).</summary>
    /// <param name="explanation">What <see cref="AddressExplainer.Explain"/> found.</param>
    /// <param name="simulatedKvm">Whether the KVM slot, if any, belongs to a simulated VM.</param>
    public static string Explain(AddressExplanation explanation, bool simulatedKvm)
    {
        ArgumentNullException.ThrowIfNull(explanation);
        return JsonSerializer.Serialize(ExplainDocument.Build(explanation, simulatedKvm), Context.ExplainDocument);
    }

    /// <summary>A machine run (<c>kind: run</c>): the machine, the guest's end, the structures and the timeline as typed events.</summary>
    /// <param name="machine">The machine after the run.</param>
    /// <param name="events">The timeline.</param>
    /// <param name="guest">How the guest ran.</param>
    public static string Run(Machine machine, IReadOnlyList<ChainEvent> events, GuestOutcome guest)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(guest);
        var doc = new RunDocument(
            machine.Name, machine.Description, JsonHex.Of(machine.Options.RamSize), machine.Kvm?.RealVm is null, machine.KvmUnavailableReason,
            new GuestJson(guest.Ran, guest.Stop, guest.Detail, guest.ExitCode, guest.Serial),
            machine.System.CommitCount,
            MtreeJson.Build(machine.System),
            FlatViewJsonBuilder.Build(machine.System),
            RamBlockDocument.Build(machine.System.RamList),
            machine.Kvm is { } kvm ? SlotsDocument.Build(kvm, machine.KvmUnavailableReason) : null,
            events.Select(ChainEventJson.From).ToList());
        return JsonSerializer.Serialize(doc, Context.RunDocument);
    }

    /// <summary>A comparison of two memory maps (<c>kind: diff</c>).</summary>
    /// <param name="diff">What <see cref="MemoryMapDiff.Compare"/> found.</param>
    /// <param name="left">How map A was given.</param>
    /// <param name="right">How map B was given.</param>
    public static string Diff(MemoryMapDiffResult diff, string left, string right)
    {
        ArgumentNullException.ThrowIfNull(diff);
        return JsonSerializer.Serialize(DiffDocument.Build(diff, left, right), Context.DiffDocument);
    }
}
