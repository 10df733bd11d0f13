namespace Memspace.Listeners;

/// <summary>
/// Collects what listeners throw during one commit or replay, so that one failing listener neither
/// stops the others from hearing about the change nor leaves the views half published.
/// </summary>
internal sealed class ListenerFailures
{
    private List<(string Listener, string Callback, Exception Error)>? _failures;

    /// <summary>Records that <paramref name="listener"/> threw <paramref name="error"/> from <paramref name="callback"/>.</summary>
    public void Add(MemoryListener listener, string callback, Exception error) => (_failures ??= []).Add((listener.Name, callback, error));

    /// <summary>Throws <see cref="MemoryListenerException"/> if anything failed, and forgets it.</summary>
    public void ThrowIfAny()
    {
        if (_failures is { } f)
        {
            _failures = null;
            throw new MemoryListenerException(f);
        }
    }
}
