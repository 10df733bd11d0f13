using Memspace.Core;

namespace Memspace.Listeners;

/// <summary>
/// A memory listener threw from a callback. The change that caused it was committed all the same:
/// every other listener saw its callbacks and the views were published. Thrown to the code that made
/// the change (or registered the listener) once the topology lock is released; the first failure is
/// the inner exception, and <see cref="Failures"/> lists all of them.
/// </summary>
public sealed class MemoryListenerException : MemspaceException
{
    internal MemoryListenerException(IReadOnlyList<(string Listener, string Callback, Exception Error)> failures)
        : base(Describe(failures), failures[0].Error)
    {
        Failures = failures;
    }

    /// <summary>Each failure: the listener's name, the callback, and what it threw.</summary>
    public IReadOnlyList<(string Listener, string Callback, Exception Error)> Failures { get; }

    /// <summary>Name of the first listener that failed.</summary>
    public string ListenerName => Failures[0].Listener;

    private static string Describe(IReadOnlyList<(string Listener, string Callback, Exception Error)> failures)
    {
        var (listener, callback, error) = failures[0];
        string more = failures.Count > 1 ? $" (and {failures.Count - 1} more listener failure(s))" : "";
        return $"memory listener '{listener}' failed in {callback}: {error.Message}{more}";
    }
}
