namespace Memspace.Regions;

/// <summary>
/// A transaction begun by <see cref="RegionGraph.Transaction"/>; disposing it commits.
/// Dispose it exactly once, on the thread that began it.
/// </summary>
public readonly struct MemoryTransaction : IDisposable
{
    private readonly RegionGraph? _system;

    internal MemoryTransaction(RegionGraph system) => _system = system;

    /// <summary>Commits the transaction (<see cref="RegionGraph.CommitTransaction"/>).</summary>
    public void Dispose() => _system?.CommitTransaction();
}
