namespace Memspace.Kvm;

/// <summary>KVM cannot be used on this host; the message says why (no <c>/dev/kvm</c>, no permission, wrong API version).</summary>
public sealed class KvmUnavailableException : KvmException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why KVM is unavailable.</param>
    public KvmUnavailableException(string message) : base(message)
    {
    }
}
