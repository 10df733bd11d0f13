using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ISA floppy controller of the pc machine (QEMU's <c>isa-fdc</c>) with no drive: "fdc" at
/// 0x3f1-0x3f5 and at 0x3f7. The digital output register (0x3f2) keeps its value and clearing its
/// reset bit resets the controller; the main status register (0x3f4) reports ready for a command;
/// the data rate (0x3f4/0x3f7 writes) is kept; every command byte written to the FIFO (0x3f5) is
/// answered with an "invalid command" status 0x80.
/// </summary>
public sealed class FloppyController : IDeviceState
{
    private readonly Lock _lock = new();
    private byte _dor = 0x0c, _rate, _result;
    private bool _hasResult;

    /// <summary>Creates the two windows.</summary>
    /// <param name="system">The memory system.</param>
    public FloppyController(MemorySystem system)
    {
        var owner = MemoryRegionOwner.Device("isa-fdc", "/machine/unattached/device[fdc]");
        Registers = DeviceRegion.Create(system, "fdc", 5, (a, _) => Read((int)a + 1), (a, v, _) => Write((int)a + 1, (byte)v), owner, 1);
        DirRegister = DeviceRegion.Create(system, "fdc", 1, (_, _) => Read(7), (_, v, _) => Write(7, (byte)v), owner, 1);
    }

    /// <summary>"fdc" at 0x3f1 (5 ports).</summary>
    public MemoryRegion Registers { get; }

    /// <summary>"fdc" at 0x3f7.</summary>
    public MemoryRegion DirRegister { get; }

    /// <summary>The digital output register.</summary>
    public byte DigitalOutput { get { lock (_lock) { return _dor; } } }

    /// <summary>Maps both windows.</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(0x3f1, Registers);
        io.AddSubregion(0x3f7, DirRegister);
    }

    /// <summary>"isa-fdc@0x3f0".</summary>
    public string StateName => "isa-fdc@0x3f0";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes DOR, the data rate and the pending result byte.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU8("dor", _dor);
            writer.WriteU8("rate", _rate);
            writer.WriteBool("has_result", _hasResult);
            writer.WriteU8("result", _result);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote (data rate 0-3).</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        byte dor = reader.ReadU8("dor");
        byte rate = reader.ReadU8("rate", 3);
        bool hasResult = reader.ReadBool("has_result");
        byte result = reader.ReadU8("result");
        reader.EnsureEnd();
        lock (_lock)
        {
            (_dor, _rate, _hasResult, _result) = (dor, rate, hasResult, result);
        }
    }

    private ulong Read(int reg)
    {
        lock (_lock)
        {
            switch (reg)
            {
                case 2: return _dor;
                case 4: return _hasResult ? 0xd0u : 0x80u; // RQM, plus DIO|BUSY while a result waits
                case 5:
                    if (_hasResult)
                    {
                        _hasResult = false;
                        return _result;
                    }
                    return 0;
                case 7: return 0; // no disk change
                default: return 0xff;
            }
        }
    }

    private void Write(int reg, byte value)
    {
        lock (_lock)
        {
            switch (reg)
            {
                case 2:
                    if ((value & 0x04) == 0)
                    {
                        _hasResult = false;
                    }
                    _dor = value;
                    break;
                case 4 or 7: _rate = (byte)(value & 3); break;
                case 5:
                    _result = 0x80;
                    _hasResult = true;
                    break;
            }
        }
    }
}
