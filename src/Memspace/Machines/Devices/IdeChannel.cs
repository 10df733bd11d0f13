using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// One legacy IDE channel with no drives (QEMU's <c>IDEBus</c> ports): the command block "ide" (8 ports
/// at 0x1f0 or 0x170) and the control register "ide" (0x3f6 or 0x376). The task-file registers hold
/// what is written; with no drive attached status and alternate status read 0 (QEMU's answer for an
/// empty bus), so firmware sees no device. Device control bit 2 (SRST) resets the task file.
/// </summary>
public sealed class IdeChannel
{
    private readonly Lock _lock = new();
    private readonly byte[] _taskFile = new byte[8];
    private byte _control;

    /// <summary>Creates the channel's windows.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="primary">Primary (0x1f0/0x3f6) or secondary (0x170/0x376).</param>
    /// <param name="owner">The controller that owns it.</param>
    public IdeChannel(MemorySystem system, bool primary, MemoryRegionOwner? owner = null)
    {
        IsPrimary = primary;
        CommandBlock = DeviceRegion.Create(system, "ide", 8, (a, s) => Read((int)a, s), (a, v, _) => Write((int)a, (byte)v), owner, 4);
        ControlBlock = DeviceRegion.Create(system, "ide", 1, (_, _) => 0, (_, v, _) => WriteControl((byte)v), owner, 1);
    }

    /// <summary>Primary or secondary.</summary>
    public bool IsPrimary { get; }

    /// <summary>The command block (8 ports).</summary>
    public MemoryRegion CommandBlock { get; }

    /// <summary>The control register (1 port).</summary>
    public MemoryRegion ControlBlock { get; }

    /// <summary>The device control register.</summary>
    public byte DeviceControl { get { lock (_lock) { return _control; } } }

    /// <summary>Task-file register <paramref name="index"/> (1-7) as last written.</summary>
    /// <param name="index">1-7.</param>
    public byte TaskFile(int index) { lock (_lock) { return _taskFile[index & 7]; } }

    /// <summary>Maps the channel at its legacy ports.</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(IsPrimary ? 0x1f0UL : 0x170UL, CommandBlock);
        io.AddSubregion(IsPrimary ? 0x3f6UL : 0x376UL, ControlBlock);
    }

    /// <summary>Writes the task file (registers 1-6) and device control, prefixed by <paramref name="prefix"/>.</summary>
    /// <param name="writer">Where the fields go.</param>
    /// <param name="prefix">"ide0." or "ide1.".</param>
    internal void SaveState(DeviceStateWriter writer, string prefix)
    {
        lock (_lock)
        {
            writer.WriteBytes(prefix + "taskfile", _taskFile);
            writer.WriteU8(prefix + "devctl", _control);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote (registers 0 and 7 are never kept); returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    /// <param name="prefix">"ide0." or "ide1.".</param>
    internal Action ReadState(DeviceStateReader reader, string prefix)
    {
        var taskFile = new byte[_taskFile.Length];
        reader.ReadBytes(prefix + "taskfile", taskFile);
        byte control = reader.ReadU8(prefix + "devctl");
        if (taskFile[0] != 0 || taskFile[7] != 0)
        {
            throw reader.Fail($"field '{prefix}taskfile' holds data or command bytes, which the channel never keeps");
        }
        return () =>
        {
            lock (_lock)
            {
                taskFile.CopyTo(_taskFile, 0);
                _control = control;
            }
        };
    }

    private ulong Read(int reg, uint size)
    {
        lock (_lock)
        {
            // No drive on either position: every register reads 0, as QEMU's ide_ioport_read answers.
            _ = reg;
            _ = size;
            return 0;
        }
    }

    private void Write(int reg, byte value)
    {
        lock (_lock)
        {
            if (reg is > 0 and < 7)
            {
                _taskFile[reg] = value;
            }
        }
    }

    private void WriteControl(byte value)
    {
        lock (_lock)
        {
            if ((value & 0x04) != 0 && (_control & 0x04) == 0)
            {
                Array.Clear(_taskFile);
            }
            _control = value;
        }
    }
}
