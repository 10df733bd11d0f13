using Memspace.Core;

namespace Memspace.Vcpus;

/// <summary>
/// Saved vCPU state that cannot be read or loaded: a bad header or version, a truncated or corrupted
/// part, a part the accelerator does not know or misses, or a value the accelerator refuses.
/// <see cref="Part"/> names the part when one is to blame.
/// </summary>
public sealed class VcpuStateException : MemspaceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="part">The part at fault, or null for the header.</param>
    /// <param name="message">What is wrong.</param>
    public VcpuStateException(string? part, string message)
        : base(part is null ? "vCPU state: " + message : $"vCPU state part '{part}': {message}")
    {
        Part = part;
    }

    /// <summary>The part at fault, or null when the header (magic, version, part count) is.</summary>
    public string? Part { get; }
}
