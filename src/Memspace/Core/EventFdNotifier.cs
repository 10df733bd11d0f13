using Memspace.Interop;

namespace Memspace.Core;

/// <summary>
/// An <see cref="EventNotifier"/> backed by a Linux eventfd (QEMU's <c>EventNotifier</c> on Linux):
/// KVM signals it directly for ioeventfds, without an exit to userspace.
/// </summary>
public sealed class EventFdNotifier : EventNotifier, IDisposable
{
    private int _fd;

    /// <summary>Creates the eventfd (non-blocking, close-on-exec).</summary>
    /// <exception cref="MemspaceException">The host refused to create an eventfd.</exception>
    public EventFdNotifier()
    {
        try
        {
            _fd = Libc.Eventfd();
        }
        catch (HostCallException e)
        {
            throw new MemspaceException(e.Message, e);
        }
    }

    /// <inheritdoc/>
    public override int Fd => _fd;

    /// <inheritdoc/>
    public override void Set() => Libc.EventfdSignal(_fd);

    /// <inheritdoc/>
    public override bool TestAndClear() => Libc.EventfdConsume(_fd) != 0;

    /// <summary>Closes the eventfd.</summary>
    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Libc.Close(fd);
        }
    }
}
