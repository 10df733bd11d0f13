using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The reset control register at 0xcf9 (QEMU's "piix3-reset-control" and "lpc-reset-control"), mapped
/// over the configuration address port with priority 1: writing bit 2 (RST_CPU) with bit 1 (SYS_RST)
/// asks for a system reset; the other bits are kept.
/// </summary>
public sealed class ResetControl
{
    /// <summary>Its port.</summary>
    public const ushort Port = 0xcf9;

    private int _value;

    /// <summary>Creates the register.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="name">"piix3-reset-control" or "lpc-reset-control".</param>
    /// <param name="owner">The bridge that owns it.</param>
    public ResetControl(MemorySystem system, string name, MemoryRegionOwner? owner = null)
    {
        Region = DeviceRegion.Create(system, name, 1, (_, _) => (ulong)Volatile.Read(ref _value), (_, v, _) => Write((byte)v), owner, 1);
    }

    /// <summary>The region.</summary>
    public MemoryRegion Region { get; }

    /// <summary>The value kept (bit 2 always reads 0).</summary>
    public byte Value => (byte)Volatile.Read(ref _value);

    /// <summary>Raised when the guest asks for a system reset.</summary>
    public event Action? ResetRequested;

    /// <summary>Writes the kept value ("rcr").</summary>
    /// <param name="writer">Where the fields go.</param>
    internal void SaveState(DeviceStateWriter writer) => writer.WriteU8("rcr", Value);

    /// <summary>Reads what <see cref="SaveState"/> wrote; only bits 1 and 3 are kept by the register. Returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    internal Action ReadState(DeviceStateReader reader)
    {
        byte value = reader.ReadU8("rcr");
        if ((value & ~0x0a) != 0)
        {
            throw reader.Fail($"field 'rcr' is 0x{value:x2}; the reset control register keeps only bits 1 and 3");
        }
        return () => Volatile.Write(ref _value, value);
    }

    private void Write(byte value)
    {
        Volatile.Write(ref _value, value & 0x0a);
        if ((value & 0x04) != 0)
        {
            ResetRequested?.Invoke();
        }
    }
}
