namespace Memspace.Unicorn;

/// <summary>Unicorn cannot be used on this host (libunicorn2 is missing or the wrong version); the message says why and what to install.</summary>
public sealed class UnicornUnavailableException : UnicornException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why Unicorn is unavailable.</param>
    public UnicornUnavailableException(string message) : base(message)
    {
    }
}
