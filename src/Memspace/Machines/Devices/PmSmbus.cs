using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The SMBus host controller registers ("pm-smbus", 64 bytes, QEMU's <c>PMSMBus</c>) with nothing on the
/// bus: host status (write 1 to clear), host control (START runs the transaction), command, slave
/// address and two data bytes. Every transaction ends at once with DEV_ERR | FAILED-style status
/// "device error" (0x04), as when no device answers.
/// </summary>
public sealed class PmSmbus
{
    private const byte StatusDevErr = 0x04, ControlStart = 0x40;
    private readonly Lock _lock = new();
    private readonly byte[] _regs = new byte[0x40];

    /// <summary>Creates the block.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">Owning function.</param>
    public PmSmbus(MemorySystem system, MemoryRegionOwner? owner = null)
    {
        Region = DeviceRegion.Create(system, "pm-smbus", 0x40, (a, s) => { lock (_lock) { return DeviceRegion.ReadLe(_regs, a, s); } }, Write, owner, 1);
    }

    /// <summary>"pm-smbus".</summary>
    public MemoryRegion Region { get; }

    /// <summary>Host status.</summary>
    public byte HostStatus { get { lock (_lock) { return _regs[0]; } } }

    /// <summary>Writes the 64 register bytes ("smbus").</summary>
    /// <param name="writer">Where the fields go.</param>
    internal void SaveState(DeviceStateWriter writer)
    {
        lock (_lock)
        {
            writer.WriteBytes("smbus", _regs);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote (START never stays set); returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    internal Action ReadState(DeviceStateReader reader)
    {
        var regs = new byte[_regs.Length];
        reader.ReadBytes("smbus", regs);
        if ((regs[2] & ControlStart) != 0)
        {
            throw reader.Fail($"host control 0x{regs[2]:x2} has START set, which the controller clears at once");
        }
        return () => { lock (_lock) { regs.CopyTo(_regs, 0); } };
    }

    private void Write(ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            byte b = (byte)value;
            switch (offset)
            {
                case 0: _regs[0] &= (byte)~b; break;
                case 2:
                    _regs[2] = (byte)(b & ~ControlStart);
                    if ((b & ControlStart) != 0)
                    {
                        _regs[0] |= StatusDevErr;
                    }
                    break;
                case < 0x40: _regs[offset] = b; break;
            }
            _ = size;
        }
    }
}
