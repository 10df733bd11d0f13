namespace Memspace.Machines.Firmware;

/// <summary>How a firmware run ended.</summary>
/// <param name="Outcome">Why it ended.</param>
/// <param name="Detail">A one-line explanation.</param>
/// <param name="Elapsed">Time from start to the end condition.</param>
/// <param name="Lines">The debug console lines, in order.</param>
public sealed record FirmwareBootResult(FirmwareBootOutcome Outcome, string Detail, TimeSpan Elapsed, IReadOnlyList<string> Lines)
{
    /// <summary>Whether the firmware reached its end marker.</summary>
    public bool ReachedEnd => Outcome == FirmwareBootOutcome.ReachedEnd;
}
