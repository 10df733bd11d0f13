using Memspace.Core;

namespace Memspace.Ram;

/// <summary>A RAMBlock operation that QEMU refuses (for example "Size mismatch", "Size too large", a duplicate id).</summary>
public sealed class RamBlockException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">QEMU's message where it has one.</param>
    public RamBlockException(string message) : base(message)
    {
    }
}
