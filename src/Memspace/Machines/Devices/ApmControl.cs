using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// Advanced power management control and status ports 0xb2/0xb3 ("apm-io", QEMU's <c>APMState</c>): a
/// write to the control port 0xb2 raises an SMI when the power-management device enables it (APMC_EN);
/// without SMM nothing happens beyond keeping the value. 0xb3 is a scratch byte.
/// </summary>
public sealed class ApmControl
{
    private int _control, _status;

    /// <summary>Creates the ports.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">The power-management function that owns them.</param>
    public ApmControl(MemorySystem system, MemoryRegionOwner? owner = null)
    {
        Region = DeviceRegion.Create(system, "apm-io", 2, (a, _) => (ulong)(a == 0 ? Volatile.Read(ref _control) : Volatile.Read(ref _status)),
            (a, v, _) => Write((int)a, (byte)v), owner, 1);
    }

    /// <summary>"apm-io".</summary>
    public MemoryRegion Region { get; }

    /// <summary>The control byte last written.</summary>
    public byte ControlValue => (byte)Volatile.Read(ref _control);

    /// <summary>The status byte.</summary>
    public byte StatusValue => (byte)Volatile.Read(ref _status);

    /// <summary>Raised on a write to the control port, with the value (where SMM would be entered).</summary>
    public event Action<byte>? ControlWritten;

    /// <summary>Writes the control and status bytes ("apm.cnt", "apm.sts").</summary>
    /// <param name="writer">Where the fields go.</param>
    internal void SaveState(DeviceStateWriter writer)
    {
        writer.WriteU8("apm.cnt", ControlValue);
        writer.WriteU8("apm.sts", StatusValue);
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; returns what applies it (without raising <see cref="ControlWritten"/>).</summary>
    /// <param name="reader">Where the fields come from.</param>
    internal Action ReadState(DeviceStateReader reader)
    {
        byte control = reader.ReadU8("apm.cnt");
        byte status = reader.ReadU8("apm.sts");
        return () =>
        {
            Volatile.Write(ref _control, control);
            Volatile.Write(ref _status, status);
        };
    }

    private void Write(int port, byte value)
    {
        if (port == 0)
        {
            Volatile.Write(ref _control, value);
            ControlWritten?.Invoke(value);
        }
        else
        {
            Volatile.Write(ref _status, value);
        }
    }
}
