using Memspace.Core;

namespace Memspace.Regions;

/// <summary>
/// Thrown when a change to the region graph is not allowed (a cycle, a region that is already in a
/// container, subregions on an alias, ...). The graph is left unchanged.
/// </summary>
public sealed class MemoryTopologyException : MemspaceException
{
    /// <summary>Creates the exception with a message that says what is wrong.</summary>
    public MemoryTopologyException(string message) : base(message)
    {
    }
}
