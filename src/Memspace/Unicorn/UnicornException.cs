using Memspace.Core;
using Memspace.Interop;

namespace Memspace.Unicorn;

/// <summary>A Unicorn call failed, or Unicorn cannot be used here; the message names the call and Unicorn's error.</summary>
public class UnicornException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public UnicornException(string message) : base(message)
    {
    }

    internal UnicornException(string call, int error)
        : base($"{call} failed: {UnicornLib.ErrorText(error)} (uc_err {error})")
    {
        Call = call;
        Error = error;
    }

    /// <summary>The Unicorn function that failed, or null.</summary>
    public string? Call { get; }

    /// <summary>Its <c>uc_err</c>, or 0.</summary>
    public int Error { get; }
}
