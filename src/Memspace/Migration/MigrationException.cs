using Memspace.Core;

namespace Memspace.Migration;

/// <summary>
/// A migration stream or snapshot that cannot be used, or a machine that cannot be moved: the
/// message names what is wrong (the record, the field, the device, what differs between the machines).
/// </summary>
public class MigrationException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="inner">The cause, if any.</param>
    public MigrationException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
