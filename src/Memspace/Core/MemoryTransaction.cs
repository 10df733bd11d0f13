namespace Memspace;

/// <summary>
/// A transaction begun by <see cref="MemorySystem.Transaction"/>; disposing it commits.
/// Dispose it exactly once, on the thread that began it.
/// </summary>
public readonly struct MemoryTransaction : IDisposable
{
    private readonly MemorySystem? _system;

    internal MemoryTransaction(MemorySystem system) => _system = system;

    /// <summary>Commits the transaction (<see cref="MemorySystem.CommitTransaction"/>).</summary>
    public void Dispose() => _system?.CommitTransaction();
}
