namespace Memspace.Ram;

/// <summary>
/// Clients of dirty-memory tracking (QEMU's <c>DIRTY_MEMORY_*</c>); each has its own bitmap, and
/// a region's dirty-log mask has bit <c>1 &lt;&lt; client</c> set while the client is logging it.
/// </summary>
public enum DirtyMemoryClient
{
    /// <summary>Display devices (framebuffer updates); the only client a region can log by itself.</summary>
    Vga = 0,

    /// <summary>Translated-code invalidation (TCG).</summary>
    Code = 1,

    /// <summary>Live migration (global dirty tracking).</summary>
    Migration = 2,
}
