namespace Memspace.Migration;

/// <summary>The figures of one pre-copy round, as progress reports them.</summary>
/// <param name="Round">0 for the full pass, then 1, 2, ...; the final pass (guest paused) is marked by <paramref name="Final"/>.</param>
/// <param name="PagesSent">Pages this round sent with their contents.</param>
/// <param name="ZeroPages">Pages this round sent as zero markers.</param>
/// <param name="BytesSent">Stream bytes this round wrote.</param>
/// <param name="Duration">How long the round took.</param>
/// <param name="DirtyPages">Pages found dirty after the round (what the next round must send).</param>
/// <param name="DirtyRate">Bytes per second the guest dirtied during the round.</param>
/// <param name="Bandwidth">Bytes per second the stream carried, measured over every round so far.</param>
/// <param name="ExpectedDowntime">How long sending <paramref name="DirtyPages"/> would take at <paramref name="Bandwidth"/>.</param>
/// <param name="Final">Whether this is the final pass, sent with the guest paused.</param>
public readonly record struct MigrationRound(int Round, long PagesSent, long ZeroPages, long BytesSent, TimeSpan Duration,
    long DirtyPages, double DirtyRate, double Bandwidth, TimeSpan ExpectedDowntime, bool Final)
{
    /// <inheritdoc/>
    public override string ToString()
        => $"migrate: round {(Final ? "final" : Round.ToString(System.Globalization.CultureInfo.InvariantCulture))}: {PagesSent} pages + {ZeroPages} zero, {BytesSent / 1048576.0:F1} MiB in {Duration.TotalMilliseconds:F0} ms; "
           + $"dirty {DirtyPages} pages ({DirtyRate / 1048576.0:F1} MiB/s); bandwidth {Bandwidth / 1048576.0:F0} MiB/s; expected downtime {ExpectedDowntime.TotalMilliseconds:F1} ms";
}
