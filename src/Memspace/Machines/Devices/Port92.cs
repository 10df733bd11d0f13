using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// System control port A at 0x92 ("port92", QEMU's <c>port92</c>): bit 1 is the A20 gate, bit 0 asks for a
/// fast reset when it goes from 0 to 1.
/// </summary>
public sealed class Port92 : IDeviceState
{
    private int _value;

    /// <summary>Creates the port.</summary>
    /// <param name="system">The memory system.</param>
    public Port92(MemorySystem system)
    {
        Region = DeviceRegion.Create(system, "port92", 1, (_, _) => (ulong)Volatile.Read(ref _value), (_, v, _) => Write((byte)v),
            MemoryRegionOwner.Device("port92", "/machine/unattached/device[port92]"), 1);
    }

    /// <summary>"port92".</summary>
    public MemoryRegion Region { get; }

    /// <summary>Whether address line 20 is enabled.</summary>
    public bool A20 => (Volatile.Read(ref _value) & 2) != 0;

    /// <summary>Raised when the guest asks for a fast reset.</summary>
    public event Action? ResetRequested;

    /// <summary>"port92@0x92".</summary>
    public string StateName => "port92@0x92";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the register ("outport").</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteU8("outport", (byte)Volatile.Read(ref _value));
    }

    /// <summary>Reads the register; bit 0 (the reset request) always reads 0 and is refused.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        byte value = reader.ReadU8("outport");
        if ((value & 1) != 0)
        {
            throw reader.Fail($"field 'outport' is 0x{value:x2}; bit 0 requests a reset and never stays set");
        }
        reader.EnsureEnd();
        Volatile.Write(ref _value, value);
    }

    private void Write(byte value)
    {
        int old = Interlocked.Exchange(ref _value, value & ~1);
        if ((value & 1) != 0 && (old & 1) == 0)
        {
            ResetRequested?.Invoke();
        }
    }
}
