using Memspace.Core;
using Memspace.Listeners;

namespace Memspace.Kvm;

/// <summary>
/// The listener on the I/O address space (QEMU's "kvm-io"): port I/O ioeventfds become
/// <c>KVM_IOEVENTFD</c>s with the PIO flag. Port I/O has no memory slots.
/// </summary>
public sealed class KvmIoListener : MemoryListener
{
    private readonly KvmAccelerator _accel;

    internal KvmIoListener(KvmAccelerator accel) : base("kvm-io", ListenerPriority.DevBackend) => _accel = accel;

    /// <inheritdoc/>
    public override void EventfdAdd(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier)
        => _accel.SetIoeventfd(section, matchData, data, notifier, pio: true, assign: true);

    /// <inheritdoc/>
    public override void EventfdDel(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier)
        => _accel.SetIoeventfd(section, matchData, data, notifier, pio: true, assign: false);
}
