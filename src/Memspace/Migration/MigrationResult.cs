namespace Memspace.Migration;

/// <summary>What a completed migration took.</summary>
/// <param name="Rounds">Every round, the final pass last.</param>
/// <param name="BytesSent">Stream bytes the source wrote.</param>
/// <param name="RamBytes">Bytes of RAM the machine's migratable blocks hold.</param>
/// <param name="Duration">From start to the destination's confirmation.</param>
/// <param name="Downtime">From pausing the source's vCPUs to the destination's guest running (the destination's monotonic timestamp).</param>
/// <param name="PauseToConfirmation">From pausing to receiving the confirmation.</param>
public sealed record MigrationResult(IReadOnlyList<MigrationRound> Rounds, long BytesSent, ulong RamBytes, TimeSpan Duration, TimeSpan Downtime, TimeSpan PauseToConfirmation)
{
    /// <summary>Pre-copy rounds after the full pass (the final pass not counted).</summary>
    public int PrecopyRounds => Rounds.Count(r => !r.Final) - 1;

    /// <summary>The pause window step by step on the source: pause, dirty-log sync, pages, state, waiting for the destination.</summary>
    public IReadOnlyList<(string Step, TimeSpan Time)> PauseSteps { get; init; } = [];

    /// <inheritdoc/>
    public override string ToString()
        => $"migrate: done in {Duration.TotalMilliseconds:F0} ms, {Rounds.Count} passes ({PrecopyRounds} dirty rounds), {BytesSent / 1048576.0:F1} MiB sent = {(double)BytesSent / RamBytes:F3} x RAM, "
           + $"downtime {Downtime.TotalMilliseconds:F1} ms (pause to confirmation {PauseToConfirmation.TotalMilliseconds:F1} ms: "
           + string.Join(", ", PauseSteps.Select(s => $"{s.Step} {s.Time.TotalMilliseconds:F1}")) + ")";
}
