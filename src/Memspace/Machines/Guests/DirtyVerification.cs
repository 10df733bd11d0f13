namespace Memspace.Machines.Guests;

/// <summary>What <see cref="DirtyVerifier"/> found.</summary>
/// <param name="Ok">Whether every page, the counters and the checksum are what the write count implies.</param>
/// <param name="Writes">Total page writes the guest reports.</param>
/// <param name="Pages">Pages in the region.</param>
/// <param name="Checksum">The guest's checksum.</param>
/// <param name="FirstBadPage">The first page whose contents are wrong, or null.</param>
/// <param name="Problem">What is wrong first, naming the page or counter, or null.</param>
public sealed record DirtyVerification(bool Ok, ulong Writes, ulong Pages, ulong Checksum, ulong? FirstBadPage, string? Problem)
{
    /// <summary>The one-line summary the CLI prints: <c>VERIFY ok=True writes=N pages=P</c>, and the problem if any.</summary>
    public override string ToString()
        => $"VERIFY ok={Ok} writes={Writes} pages={Pages} checksum=0x{Checksum:x16}" + (Problem is null ? "" : $" problem: {Problem}");
}
