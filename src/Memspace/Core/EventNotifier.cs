namespace Memspace.Core;

/// <summary>
/// A signal that a device can wait on (QEMU's <c>EventNotifier</c>), used for ioeventfds.
/// </summary>
/// <remarks>
/// Notifiers are ordered by creation, which stands in for the pointer order QEMU uses to sort
/// ioeventfds that are otherwise equal.
/// </remarks>
public class EventNotifier
{
    private static long s_nextId;
    private long _count;

    /// <summary>Creates a notifier.</summary>
    public EventNotifier() => Id = Interlocked.Increment(ref s_nextId);

    /// <summary>Creation sequence number; orders notifiers.</summary>
    public long Id { get; }

    /// <summary>The file descriptor an accelerator can signal directly (an eventfd), or -1.</summary>
    public virtual int Fd => -1;

    /// <summary>Signals the notifier (QEMU's <c>event_notifier_set</c>).</summary>
    public virtual void Set() => Interlocked.Increment(ref _count);

    /// <summary>Returns whether the notifier was signalled since the last call, and clears it.</summary>
    public virtual bool TestAndClear() => Interlocked.Exchange(ref _count, 0) != 0;

    /// <inheritdoc/>
    public override string ToString() => $"EventNotifier#{Id}";
}
