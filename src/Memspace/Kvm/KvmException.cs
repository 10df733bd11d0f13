namespace Memspace.Kvm;

/// <summary>KVM refused something or ran out of something (slots); the message says what.</summary>
public sealed class KvmException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public KvmException(string message) : base(message)
    {
    }
}
