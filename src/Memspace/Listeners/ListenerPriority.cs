namespace Memspace.Listeners;

/// <summary>QEMU's listener priority constants (<c>MEMORY_LISTENER_PRIORITY_*</c>).</summary>
public static class ListenerPriority
{
    /// <summary>The lowest priority.</summary>
    public const uint Min = 0;

    /// <summary>Accelerators (KVM, HVF, Xen).</summary>
    public const uint Accel = 10;

    /// <summary>Device back-ends (vhost, the KVM I/O listener).</summary>
    public const uint DevBackend = 10;
}
