using Memspace.Core;

namespace Memspace.Kvm;

/// <summary>
/// KVM refused something or ran out of something (slots): names the operation and, for a failed ioctl,
/// the errno and its text.
/// </summary>
public class KvmException : MemspaceException
{
    /// <summary>Creates the exception for a failure that is not an ioctl's.</summary>
    /// <param name="message">What went wrong.</param>
    public KvmException(string message) : base(message)
    {
        Operation = "";
        ErrorText = "";
    }

    /// <summary>Creates the exception for a failed ioctl.</summary>
    /// <param name="operation">The ioctl, for example <c>KVM_SET_USER_MEMORY_REGION</c>.</param>
    /// <param name="errno">The error number.</param>
    /// <param name="context">What it was asked to do, or null.</param>
    public KvmException(string operation, int errno, string? context = null)
        : base($"{operation}{(context is null ? "" : $" ({context})")} failed: {Interop.HostCallException.ErrorText(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
        ErrorText = Interop.HostCallException.ErrorText(errno);
    }

    /// <summary>The ioctl or call that failed, or empty.</summary>
    public string Operation { get; }

    /// <summary>The error number, or 0.</summary>
    public int Errno { get; }

    /// <summary>The C library's text for <see cref="Errno"/>, or empty.</summary>
    public string ErrorText { get; }
}
