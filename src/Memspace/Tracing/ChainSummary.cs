using System.Globalization;
using Memspace.Vcpus;

namespace Memspace.Tracing;

/// <summary>
/// The answer a timeline gives to the seed question, computed from its events: when the accelerator's
/// listeners were registered and what the views held then, the first mapping (KVM slot) and the change
/// that caused it, how many mapping changes the board and the guest made, and which guest exits caused
/// which. Works on <see cref="AcceleratorMappingEvent"/>, so it describes any accelerator's mappings.
/// </summary>
/// <remarks>
/// Attribution follows the order events are recorded in: a vCPU exit is recorded after it has been
/// served, so the mapping changes recorded since the previous exit (after <see cref="MachinePhase.GuestStart"/>)
/// are the ones its service caused. With several vCPUs running at once, changes are attributed to the
/// next exit recorded by any of them.
/// </remarks>
public sealed class ChainSummary
{
    private ChainSummary()
    {
    }

    /// <summary>The accelerator-init phase event, or null if the timeline has none.</summary>
    public ChainEvent? AcceleratorInit { get; private init; }

    /// <summary>Mappings that existed when the accelerator's listeners were registered.</summary>
    public int MappingsAtAcceleratorInit { get; private init; }

    /// <summary>
    /// For each followed address space, the sections (RAM-backed and in all) its listeners had been told
    /// about when the accelerator was initialised, in the order the address spaces appeared.
    /// </summary>
    public IReadOnlyList<(string AddressSpace, int RamSections, int Sections)> ViewsAtAcceleratorInit { get; private init; } = [];

    /// <summary>The first mapping made, or null if there was none.</summary>
    public FirstMapping? First { get; private init; }

    /// <summary>The call the accelerator's mapping events name (for KVM "KVM_SET_USER_MEMORY_REGION"), or null without any.</summary>
    public string? MappingCall { get; private init; }

    /// <summary>All mapping changes.</summary>
    public int Mappings { get; private init; }

    /// <summary>Mapping changes per phase, in phase order (<see cref="MachinePhase.GuestStart"/> holds the guest's).</summary>
    public IReadOnlyList<(MachinePhase Phase, int Mappings)> MappingsByPhase { get; private init; } = [];

    /// <summary>Mapping changes before any vCPU existed: the board's.</summary>
    public int BoardMappings => MappingsByPhase.Where(p => p.Phase != MachinePhase.GuestStart).Sum(p => p.Mappings);

    /// <summary>Mapping changes once a vCPU existed: the guest's.</summary>
    public int GuestMappings => MappingsByPhase.Where(p => p.Phase == MachinePhase.GuestStart).Sum(p => p.Mappings);

    /// <summary>Guest mapping changes no exit was recorded after (the run ended or was stopped first).</summary>
    public int UnattributedGuestMappings { get; private init; }

    /// <summary>Whether a vCPU was created (a <see cref="MachinePhase.GuestStart"/> event).</summary>
    public bool GuestStarted { get; private init; }

    /// <summary>Number of vCPU exits.</summary>
    public int Exits { get; private init; }

    /// <summary>vCPU exits per kind, most frequent first.</summary>
    public IReadOnlyList<(VcpuExitKind Kind, int Count)> ExitsByKind { get; private init; } = [];

    /// <summary>The exits whose service changed mappings, in order.</summary>
    public IReadOnlyList<GuestCause> GuestCauses { get; private init; } = [];

    /// <summary>Commits recorded (<see cref="CommitEvent"/>s).</summary>
    public int Commits { get; private init; }

    /// <summary>Commits no listener heard anything from: no section was added or removed in any followed address space.</summary>
    public int CommitsWithoutChange { get; private init; }

    /// <summary>Computes the summary of <paramref name="events"/> (a <see cref="ChainTimeline"/>'s, or any list in recording order).</summary>
    /// <param name="events">The events.</param>
    public static ChainSummary Of(IReadOnlyList<ChainEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        ChainEvent? accelInit = null;
        int liveMappings = 0, mappingsAtInit = 0;
        List<(string, int, int)> viewsAtInit = [];
        var sections = new Dictionary<string, (int Ram, int All)>(StringComparer.Ordinal);
        var spaceOrder = new List<string>();
        FirstMapping? first = null;
        int firstIndex = -1;
        string? call = null;
        int mappings = 0;
        var byPhase = new SortedDictionary<MachinePhase, int>();
        MachinePhase? phase = null;
        bool guest = false;
        int exits = 0;
        var exitKinds = new Dictionary<VcpuExitKind, int>();
        var causes = new List<GuestCause>();
        var pendingEffects = new List<string>();
        var pendingMappings = new List<AcceleratorMappingEvent>();
        int commits = 0, quietCommits = 0;
        bool commitHeardSomething = false;
        RegionChangeEvent? lastChange = null;
        SectionEvent? lastSection = null;

        for (int i = 0; i < events.Count; i++)
        {
            ChainEvent e = events[i];
            switch (e.Payload)
            {
                case PhaseEvent p:
                    phase = p.Phase;
                    if (p.Phase == MachinePhase.AcceleratorInit && accelInit is null)
                    {
                        accelInit = e;
                        mappingsAtInit = liveMappings;
                        viewsAtInit = [.. spaceOrder.Select(s => (s, sections[s].Ram, sections[s].All))];
                    }
                    if (p.Phase == MachinePhase.GuestStart && !guest)
                    {
                        guest = true;
                        pendingEffects.Clear();
                        pendingMappings.Clear();
                    }
                    break;
                case AddressSpaceEvent a:
                    Track(a.Name);
                    break;
                case SectionEvent s:
                    Track(s.AddressSpace);
                    int delta = s.Callback switch { "region_add" => 1, "region_del" => -1, _ => 0 };
                    if (delta != 0)
                    {
                        (int ram, int all) = sections[s.AddressSpace];
                        sections[s.AddressSpace] = (ram + (s.Kind == "i/o" ? 0 : delta), all + delta);
                        commitHeardSomething = true;
                        lastSection = s;
                    }
                    break;
                case RegionChangeEvent c:
                    lastChange = c;
                    break;
                case CommitEvent:
                    commits++;
                    if (!commitHeardSomething)
                    {
                        quietCommits++;
                    }
                    commitHeardSomething = false;
                    if (first is not null && first.Commit is null && i > firstIndex)
                    {
                        first = first with { Commit = ((CommitEvent)e.Payload).Commit };
                    }
                    break;
                case AcceleratorMappingEvent m:
                    mappings++;
                    call ??= m.Call;
                    liveMappings += m.Removes ? -1 : 1;
                    commitHeardSomething = true;
                    MachinePhase key = guest ? MachinePhase.GuestStart : phase ?? MachinePhase.MemoryMapInit;
                    byPhase[key] = byPhase.GetValueOrDefault(key) + 1;
                    if (first is null && !m.Removes)
                    {
                        first = new FirstMapping(e, null, guest ? MachinePhase.GuestStart : phase, lastChange, lastSection);
                        firstIndex = i;
                    }
                    if (guest)
                    {
                        pendingMappings.Add(m);
                    }
                    break;
                case VcpuExitEvent x:
                    exits++;
                    exitKinds[x.Exit.Kind] = exitKinds.GetValueOrDefault(x.Exit.Kind) + 1;
                    if (pendingMappings.Count > 0)
                    {
                        causes.Add(new GuestCause(e, [.. pendingEffects], [.. pendingMappings]));
                    }
                    pendingEffects.Clear();
                    pendingMappings.Clear();
                    break;
                case NoteEvent n when guest && e.Structure == ChainStructure.Device:
                    pendingEffects.Add($"{e.Source}: {n.Text}");
                    break;
            }
        }

        return new ChainSummary
        {
            AcceleratorInit = accelInit,
            MappingsAtAcceleratorInit = mappingsAtInit,
            ViewsAtAcceleratorInit = viewsAtInit,
            First = first,
            MappingCall = call,
            Mappings = mappings,
            MappingsByPhase = [.. byPhase.Select(kv => (kv.Key, kv.Value))],
            UnattributedGuestMappings = pendingMappings.Count,
            GuestStarted = guest,
            Exits = exits,
            ExitsByKind = [.. exitKinds.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value))],
            GuestCauses = causes,
            Commits = commits,
            CommitsWithoutChange = quietCommits,
        };

        void Track(string space)
        {
            if (!sections.ContainsKey(space))
            {
                sections[space] = (0, 0);
                spaceOrder.Add(space);
            }
        }
    }

    /// <summary>The summary as a few lines of text, each a complete statement, without indentation.</summary>
    public IReadOnlyList<string> Describe()
    {
        var lines = new List<string>();
        string call = MappingCall ?? "mapping";
        if (AcceleratorInit is { } init)
        {
            string views = ViewsAtAcceleratorInit.Count == 0
                ? "before any address space had a listener callback"
                : string.Join("; ", ViewsAtAcceleratorInit.Select(v => $"\"{v.AddressSpace}\": {v.RamSections} RAM-backed of {Plural(v.Sections, "section")}"));
            lines.Add($"Listeners first: the accelerator's init (event #{init.Sequence}) registered its MemoryListeners when the views held " +
                      $"{views} (MemoryRegionSections), so {Plural(MappingsAtAcceleratorInit, "slot")} existed: registering a listener only replays what is already mapped.");
        }
        else
        {
            lines.Add("Listeners: this timeline does not record the accelerator's init.");
        }
        if (First is { } f)
        {
            string when = f.Commit is { } c ? $"commit #{c}" : $"event #{f.Mapping.Sequence}";
            string phase = f.Phase is { } p ? $" during {PhaseEvent.Name(p)}" : "";
            string who = f.Phase == MachinePhase.GuestStart ? "the guest" : "the board";
            string cause = f.Change is { } ch
                ? $", when {who} {(ch.Operation.Contains("add_subregion", StringComparison.Ordinal) ? "mapped" : "changed")} '{ch.Region}' ({ch.Text})"
                : "";
            string section = f.Section is { } s ? $": {s.Callback} [0x{s.Start:x}, 0x{s.End:x}) {s.Kind} '{s.Region}' in \"{s.AddressSpace}\" -> " : ": ";
            lines.Add($"First slot: {when}{phase}{cause}{section}{f.Mapping.Text} (event #{f.Mapping.Sequence}).");
        }
        else
        {
            lines.Add("First slot: none was set in this run.");
        }
        string phases = string.Join(", ", MappingsByPhase.Where(p => p.Phase != MachinePhase.GuestStart).Select(p => $"{PhaseEvent.Name(p.Phase)} {p.Mappings}"));
        lines.Add($"{Plural(Mappings, call + " call")} in all: {BoardMappings} by the board{(phases.Length > 0 ? $" ({phases})" : "")}, {GuestMappings} by the guest.");
        if (!GuestStarted)
        {
            lines.Add("Guest exits: none, the guest did not run.");
        }
        else
        {
            string kinds = string.Join(", ", ExitsByKind.Select(k => $"{KindName(k.Kind)} {k.Count}"));
            lines.Add($"Guest exits: {Exits}{(kinds.Length > 0 ? $" ({kinds})" : "")}; {GuestCauses.Count} of them changed slots{(GuestCauses.Count > 0 ? ":" : ".")}");
            foreach (GuestCause cause in GuestCauses)
            {
                string effects = cause.Effects.Count == 0 ? "" : $" => {string.Join("; ", cause.Effects)}";
                lines.Add($"  event #{cause.Exit.Sequence} {cause.Exit.Text}{effects} => {Plural(cause.Mappings.Count, call + " call")}: {string.Join(", ", cause.Mappings.Select(m => m.Brief))}");
            }
            if (UnattributedGuestMappings > 0)
            {
                lines.Add($"  {Plural(UnattributedGuestMappings, call + " call")} after the last recorded exit.");
            }
        }
        lines.Add($"Commits: {Commits}, {CommitsWithoutChange} of them changed no address space's FlatView.");
        return lines;
    }

    private static string KindName(VcpuExitKind kind) => kind switch
    {
        VcpuExitKind.Io => "KVM_EXIT_IO",
        VcpuExitKind.Mmio => "KVM_EXIT_MMIO",
        _ => kind.ToString(),
    };

    private static string Plural(int n, string noun) => string.Create(CultureInfo.InvariantCulture, $"{n} {noun}{(n == 1 ? "" : "s")}");
}
