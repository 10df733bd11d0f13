using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The 8042 keyboard controller (QEMU's <c>i8042</c>): "i8042-data" at 0x60 and "i8042-cmd" at 0x64.
/// Controller commands: read/write the command byte (0x20/0x60), self test (0xaa → 0x55), interface
/// tests (0xab/0xa9 → 0), enable/disable the keyboard and aux ports (0xae/0xad/0xa8/0xa7), write the
/// output port (0xd1: bit 0 clear asks for a reset) and pulse reset (0xfe). A keyboard is attached
/// with no keys pressed: it acknowledges (0xfa) every byte, answers reset (0xff) with 0xaa and
/// identify (0xf2) with 0xab 0x83. Bytes queue in the output buffer; the status register shows it.
/// </summary>
public sealed class I8042 : IDeviceState
{
    private const byte StatusOutputFull = 0x01, StatusSystem = 0x04, StatusCommand = 0x08, StatusUnlocked = 0x10;
    private readonly Lock _lock = new();
    private readonly Queue<byte> _output = new();
    private byte _commandByte = 0x45, _status = StatusSystem | StatusUnlocked, _pending, _outputPort = 0x03;
    private bool _keyboardEnabled = true;

    /// <summary>Creates the two ports.</summary>
    /// <param name="system">The memory system.</param>
    public I8042(MemorySystem system)
    {
        var owner = MemoryRegionOwner.Device("i8042", "/machine/unattached/device[i8042]");
        Data = DeviceRegion.Create(system, "i8042-data", 1, (_, _) => ReadData(), (_, v, _) => WriteData((byte)v), owner, 1);
        Command = DeviceRegion.Create(system, "i8042-cmd", 1, (_, _) => ReadStatus(), (_, v, _) => WriteCommand((byte)v), owner, 1);
    }

    /// <summary>"i8042-data".</summary>
    public MemoryRegion Data { get; }

    /// <summary>"i8042-cmd".</summary>
    public MemoryRegion Command { get; }

    /// <summary>The controller's command byte.</summary>
    public byte CommandByte { get { lock (_lock) { return _commandByte; } } }

    /// <summary>Whether the keyboard interface is enabled.</summary>
    public bool KeyboardEnabled { get { lock (_lock) { return _keyboardEnabled; } } }

    /// <summary>Raised when the guest asks the controller to reset the system (command 0xfe, or output port bit 0 cleared).</summary>
    public event Action? ResetRequested;

    /// <summary>Maps the ports at 0x60 and 0x64.</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(0x60, Data);
        io.AddSubregion(0x64, Command);
    }

    /// <summary>Most bytes the output queue carries in saved state (far more than any command leaves).</summary>
    public const int MaxSavedOutput = 4096;

    /// <summary>"i8042@0x60".</summary>
    public string StateName => "i8042@0x60";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the command byte, status, the command waiting for its data byte, the output port, whether the keyboard is enabled and the queued output bytes.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU8("mode", _commandByte);
            writer.WriteU8("status", _status);
            writer.WriteU8("write_cmd", _pending);
            writer.WriteU8("outport", _outputPort);
            writer.WriteBool("kbd_enabled", _keyboardEnabled);
            byte[] queue = [.. _output];
            writer.WriteBytes("queue", queue.Length > MaxSavedOutput ? queue[^MaxSavedOutput..] : queue);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; a pending command other than those that take a data byte, or status bits the controller derives, are refused.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        byte mode = reader.ReadU8("mode");
        byte status = reader.ReadU8("status");
        byte pending = reader.ReadU8("write_cmd");
        byte outport = reader.ReadU8("outport");
        bool enabled = reader.ReadBool("kbd_enabled");
        byte[] queue = reader.ReadBytes("queue", MaxSavedOutput);
        if ((status & ~(StatusSystem | StatusCommand | StatusUnlocked)) != 0)
        {
            throw reader.Fail($"field 'status' is 0x{status:x2}; only SYS, CMD/DATA and the keylock bit are kept (OBF follows the queue)");
        }
        if (pending is not (0 or 0x60 or 0xd1 or 0xd2 or 0xd3 or 0xd4))
        {
            throw reader.Fail($"field 'write_cmd' is 0x{pending:x2}, not a command that waits for a data byte");
        }
        reader.EnsureEnd();
        lock (_lock)
        {
            (_commandByte, _status, _pending, _outputPort, _keyboardEnabled) = (mode, status, pending, outport, enabled);
            _output.Clear();
            foreach (byte b in queue)
            {
                _output.Enqueue(b);
            }
        }
    }

    private ulong ReadStatus()
    {
        lock (_lock)
        {
            return (ulong)(_status | (_output.Count > 0 ? StatusOutputFull : 0));
        }
    }

    private ulong ReadData()
    {
        lock (_lock)
        {
            return _output.Count > 0 ? _output.Dequeue() : (byte)0;
        }
    }

    private void WriteCommand(byte command)
    {
        bool reset = false;
        lock (_lock)
        {
            _status |= StatusCommand;
            switch (command)
            {
                case 0x20: _output.Enqueue(_commandByte); break;
                case 0x60 or 0xd1 or 0xd2 or 0xd3 or 0xd4: _pending = command; break;
                case 0xaa: _output.Enqueue(0x55); break;
                case 0xab or 0xa9: _output.Enqueue(0x00); break;
                case 0xad: _keyboardEnabled = false; _commandByte |= 0x10; break;
                case 0xae: _keyboardEnabled = true; _commandByte &= 0xef; break;
                case 0xa7: _commandByte |= 0x20; break;
                case 0xa8: _commandByte &= 0xdf; break;
                case 0xd0: _output.Enqueue(_outputPort); break;
                case 0xfe: reset = true; break;
            }
        }
        if (reset)
        {
            ResetRequested?.Invoke();
        }
    }

    private void WriteData(byte value)
    {
        bool reset = false;
        lock (_lock)
        {
            _status &= unchecked((byte)~StatusCommand);
            byte pending = _pending;
            _pending = 0;
            switch (pending)
            {
                case 0x60:
                    _commandByte = value;
                    _status = (byte)((_status & ~StatusSystem) | (value & StatusSystem));
                    return;
                case 0xd1:
                    _outputPort = value;
                    reset = (value & 1) == 0;
                    break;
                case 0xd2:
                    _output.Enqueue(value);
                    return;
                case 0xd3 or 0xd4:
                    return; // no mouse
                default:
                    KeyboardCommand(value);
                    return;
            }
        }
        if (reset)
        {
            ResetRequested?.Invoke();
        }
    }

    private void KeyboardCommand(byte value)
    {
        _output.Enqueue(0xfa);
        switch (value)
        {
            case 0xff: _output.Enqueue(0xaa); break;
            case 0xf2: _output.Enqueue(0xab); _output.Enqueue(0x83); break;
            case 0xee: _output.Clear(); _output.Enqueue(0xee); break;
        }
    }
}
