using Memspace.Core;

namespace Memspace.Import;

/// <summary>A live QEMU could not be queried over QMP: the socket, the protocol or the command failed.</summary>
public sealed class QmpException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public QmpException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
