using Memspace.Core;

namespace Memspace.Ram;

/// <summary>Host memory could not be mapped, advised, populated or discarded: names the system call, the errno and its text.</summary>
public sealed class HostMemoryException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="call">The system call, for example <c>mmap</c>.</param>
    /// <param name="errno">The error number, or 0 when the failure is not a system call's.</param>
    /// <param name="message">The whole message.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public HostMemoryException(string call, int errno, string message, Exception? inner = null) : base(message, inner)
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>The system call that failed.</summary>
    public string Call { get; }

    /// <summary>The error number (0 when none).</summary>
    public int Errno { get; }
}
