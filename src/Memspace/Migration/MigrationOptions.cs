namespace Memspace.Migration;

/// <summary>How an outgoing migration runs (QEMU's <c>max-bandwidth</c>, <c>downtime-limit</c> and friends).</summary>
public sealed record MigrationOptions
{
    /// <summary>Bytes per second the stream may use; 0 for no limit (the default).</summary>
    public long MaxBandwidth { get; init; }

    /// <summary>The longest pause acceptable: pre-copy goes on until the pages left fit in it at the measured bandwidth. Default 300 ms, as QEMU's.</summary>
    public TimeSpan DowntimeLimit { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>The most pre-copy rounds after the first full pass; then the final pass happens whatever the estimate. Default 30.</summary>
    public int MaxRounds { get; init; } = 30;

    /// <summary>How long the source waits for the destination to confirm the guest runs. Default 30 s.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called after each round with its figures (from the migration thread).</summary>
    public Action<MigrationRound>? Progress { get; init; }
}
