namespace Memspace.Machines.State;

/// <summary>
/// A device whose registers travel with the machine (QEMU's <c>VMStateDescription</c> of a device):
/// a snapshot or a migration saves it, and the destination loads it into the same device of an
/// identically built machine. Loading must re-apply what the registers imply for the memory map
/// (PAM, SMRAM, BARs, windows), so that the destination's topology follows from the state alone.
/// </summary>
public interface IDeviceState
{
    /// <summary>
    /// The device's name in the state, unique within its machine and the same on every build of the
    /// same machine (QEMU's vmstate instance id, e.g. "i8259@0x20" or "00:1f.0/ICH9-LPC").
    /// </summary>
    string StateName { get; }

    /// <summary>The layout version <see cref="SaveState"/> writes; <see cref="LoadState"/> accepts it and may accept older ones.</summary>
    int StateVersion { get; }

    /// <summary>Writes the device's registers. Called with the guest paused.</summary>
    /// <param name="writer">Where the fields go.</param>
    void SaveState(DeviceStateWriter writer);

    /// <summary>
    /// Reads back what <see cref="SaveState"/> wrote (version <see cref="DeviceStateReader.Version"/>)
    /// and applies it, including its effect on the memory map. Called with the guest paused, inside
    /// one memory transaction for the whole machine. Throws <see cref="DeviceStateException"/> when the
    /// fields are not the ones this device writes or a value is out of range.
    /// </summary>
    /// <param name="reader">Where the fields come from.</param>
    void LoadState(DeviceStateReader reader);
}
