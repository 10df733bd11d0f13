using System.Runtime.InteropServices;

namespace Memspace.Interop;

/// <summary>
/// A call into the operating system failed: carries the call's name, the errno and its text. Internal:
/// the layers above turn it into their own public exception (<c>HostMemoryException</c>,
/// <c>KvmException</c>) at their public entry points.
/// </summary>
internal sealed class HostCallException : Exception
{
    internal HostCallException(string call, int errno, string? what)
        : base($"{call}{(what is null ? "" : $" ({what})")} failed: {ErrorText(errno)} (errno {errno})")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>The system call, for example <c>mmap</c>.</summary>
    public string Call { get; }

    /// <summary>The error number.</summary>
    public int Errno { get; }

    /// <summary>The C library's text for <paramref name="errno"/> ("No such file or directory").</summary>
    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
