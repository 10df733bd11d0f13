using System.Runtime.InteropServices;

namespace Memspace.Interop;

/// <summary>A call into the operating system failed; carries the call's name and errno.</summary>
public sealed class HostCallException : IOException
{
    internal HostCallException(string call, int errno, string? what)
        : base($"{call}{(what is null ? "" : $" ({what})")} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>The system call, for example <c>mmap</c>.</summary>
    public string Call { get; }

    /// <summary>The error number.</summary>
    public int Errno { get; }
}
