using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// A port that takes writes and does nothing with them, reading all ones (QEMU's "ioport80", the POST
/// code port firmware writes for delays, and "ioportF0", the FPU error latch). The last value written
/// is kept for inspection.
/// </summary>
public sealed class IgnoredPort : IDeviceState
{
    private int _last = -1;
    private readonly ushort _port;

    /// <summary>Creates the port.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="name">"ioport80" or "ioportF0".</param>
    /// <param name="port">Where the board maps it (for <see cref="StateName"/>).</param>
    public IgnoredPort(MemorySystem system, string name, ushort port)
    {
        _port = port;
        Name = name;
        Region = DeviceRegion.Create(system, name, 1, (_, _) => 0xff, (_, v, _) => Volatile.Write(ref _last, (byte)v),
            MemoryRegionOwner.Device("pc", "/machine"), 1);
    }

    /// <summary>"ioport80" or "ioportF0".</summary>
    public string Name { get; }

    /// <summary>"ioport80@0x80", "ioportF0@0xf0".</summary>
    public string StateName => $"{Name}@0x{_port:x}";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the last byte written ("last", -1 for none): nothing the guest reads back, kept so inspection matches after a move.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteI64("last", LastWritten);
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote (-1 to 255).</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        long last = reader.ReadI64("last");
        if (last is < -1 or > 255)
        {
            throw reader.Fail($"field 'last' is {last}; a byte or -1 is expected");
        }
        reader.EnsureEnd();
        Volatile.Write(ref _last, (int)last);
    }

    /// <summary>The port's region.</summary>
    public MemoryRegion Region { get; }

    /// <summary>The last byte written, or -1.</summary>
    public int LastWritten => Volatile.Read(ref _last);
}
