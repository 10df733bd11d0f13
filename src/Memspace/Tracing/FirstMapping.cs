namespace Memspace.Tracing;

/// <summary>The first mapping an accelerator made (for KVM: the first slot), and what led to it.</summary>
/// <param name="Mapping">The mapping event.</param>
/// <param name="Commit">The commit it belongs to, or null if the timeline ends before that commit is recorded.</param>
/// <param name="Phase">The machine's phase at the time, or null if no phase was recorded before it.</param>
/// <param name="Change">The last region change before it (what the board or guest did), or null.</param>
/// <param name="Section">The listener callback that carried it (<c>region_add</c> with its section), or null.</param>
public sealed record FirstMapping(ChainEvent Mapping, long? Commit, MachinePhase? Phase, RegionChangeEvent? Change, SectionEvent? Section);
