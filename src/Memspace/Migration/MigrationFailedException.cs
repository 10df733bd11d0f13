namespace Memspace.Migration;

/// <summary>
/// An outgoing migration that did not complete (the connection dropped, the destination refused or
/// never confirmed). The source has been put back as it was: dirty logging stopped and its vCPUs
/// running again, so nothing is lost.
/// </summary>
public sealed class MigrationFailedException : MigrationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="phase">Where the migration was when it failed.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The cause.</param>
    public MigrationFailedException(string phase, string message, Exception? inner = null)
        : base($"migration failed during {phase}: {message}; the source keeps running", inner)
    {
        Phase = phase;
    }

    /// <summary>The phase the migration was in ("header", "RAM round 3", "final pass", "waiting for the destination").</summary>
    public string Phase { get; }
}
