namespace Memspace.Core;

/// <summary>
/// The base of every exception the library throws for a reason of its own: a topology change it
/// refuses, RAM it cannot place, a KVM call that failed, a dump it cannot import, a machine option it
/// cannot build. Catch this type to handle them all; argument checks on null or out-of-range values
/// still throw the standard <see cref="ArgumentException"/> family.
/// </summary>
public class MemspaceException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, naming the thing it went wrong with.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public MemspaceException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
