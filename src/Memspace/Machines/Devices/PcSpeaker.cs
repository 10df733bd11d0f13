using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// Port 0x61 ("pcspk", QEMU's <c>isa-pcspk</c>): bit 0 gates PIT channel 2, bit 1 enables the speaker,
/// bit 4 toggles on every read (the refresh clock firmware uses for short delays) and bit 5 shows
/// channel 2's output. No sound is made.
/// </summary>
public sealed class PcSpeaker : IDeviceState
{
    private readonly I8254Pit _pit;
    private int _refresh;
    private int _dataOn;

    /// <summary>Creates the port.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="pit">The timer whose channel 2 it gates.</param>
    public PcSpeaker(MemorySystem system, I8254Pit pit)
    {
        _pit = pit;
        Region = DeviceRegion.Create(system, "pcspk", 1, (_, _) => Read(), (_, v, _) => Write((byte)v),
            MemoryRegionOwner.Device("isa-pcspk", "/machine/pcspk"), 1);
    }

    /// <summary>"pcspk".</summary>
    public MemoryRegion Region { get; }

    /// <summary>Whether the speaker is enabled (bit 1).</summary>
    public bool SpeakerOn => Volatile.Read(ref _dataOn) != 0;

    /// <summary>"pcspk@0x61".</summary>
    public string StateName => "pcspk@0x61";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the speaker-enable bit ("data_on") and the refresh toggle ("refresh"); channel 2's gate is the timer's.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteBool("data_on", SpeakerOn);
        writer.WriteBool("refresh", (Volatile.Read(ref _refresh) & 1) != 0);
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        bool dataOn = reader.ReadBool("data_on");
        bool refresh = reader.ReadBool("refresh");
        reader.EnsureEnd();
        Volatile.Write(ref _dataOn, dataOn ? 1 : 0);
        Volatile.Write(ref _refresh, refresh ? 1 : 0);
    }

    private ulong Read()
    {
        int refresh = Interlocked.Increment(ref _refresh) & 1;
        return (ulong)((_pit.Channel2Gate ? 1 : 0) | (SpeakerOn ? 2 : 0) | (refresh << 4) | (_pit.Channel2Output ? 0x20 : 0));
    }

    private void Write(byte value)
    {
        _pit.Channel2Gate = (value & 1) != 0;
        Volatile.Write(ref _dataOn, (value >> 1) & 1);
    }
}
