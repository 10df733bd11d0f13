using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// A port that takes writes and does nothing with them, reading all ones (QEMU's "ioport80", the POST
/// code port firmware writes for delays, and "ioportF0", the FPU error latch). The last value written
/// is kept for inspection.
/// </summary>
public sealed class IgnoredPort
{
    private int _last = -1;

    /// <summary>Creates the port.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="name">"ioport80" or "ioportF0".</param>
    public IgnoredPort(MemorySystem system, string name)
    {
        Region = DeviceRegion.Create(system, name, 1, (_, _) => 0xff, (_, v, _) => Volatile.Write(ref _last, (byte)v),
            MemoryRegionOwner.Device("pc", "/machine"), 1);
    }

    /// <summary>The port's region.</summary>
    public MemoryRegion Region { get; }

    /// <summary>The last byte written, or -1.</summary>
    public int LastWritten => Volatile.Read(ref _last);
}
