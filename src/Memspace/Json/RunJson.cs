namespace Memspace.Json;

/// <summary>
/// <c>memspace run</c> as data: the machine, how the guest ended, and the chain's structures
/// (the same documents <c>mtree</c>, <c>mtree -f</c>, <c>ramblock</c> and <c>slots</c> give) followed
/// by the timeline as typed events.
/// </summary>
internal sealed record RunDocument(
    string Machine, string Description, string RamSize, bool SimulatedKvm, string? KvmUnavailableReason,
    GuestJson Guest, long Commits, MtreeDocument Mtree, FlatViewDocument FlatViews, RamBlockDocument RamBlocks, SlotsDocument? Slots,
    IReadOnlyList<ChainEventJson> Events) : JsonDocumentBase("run");

/// <summary>Whether the guest ran, how it stopped, the exit code the command returns, and what it wrote to its serial port.</summary>
internal sealed record GuestJson(bool Ran, string? Stop, string? Detail, int ExitCode, string Serial);
