using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ICH9 TCO watchdog registers ("sm-tco", 32 bytes at PMBASE + 0x60, QEMU's <c>TCOIORegs</c>): the
/// timer reload and value, data in/out, status registers TCO1_STS/TCO2_STS (write 1 to clear),
/// control registers TCO1_CNT/TCO2_CNT and the timer initial value (0x0004 at reset). The watchdog is
/// halted (TCO_TMR_HLT is set at reset) and never fires.
/// </summary>
public sealed class TcoRegisters
{
    private readonly Lock _lock = new();
    private readonly byte[] _regs = new byte[0x20];
    private static readonly byte[] W1c = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>Creates the block.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">Owning function.</param>
    public TcoRegisters(MemorySystem system, MemoryRegionOwner? owner = null)
    {
        Region = DeviceRegion.Create(system, "sm-tco", 0x20, (a, s) => { lock (_lock) { return DeviceRegion.ReadLe(_regs, a, s); } }, Write, owner);
        Reset();
    }

    /// <summary>"sm-tco".</summary>
    public MemoryRegion Region { get; }

    /// <summary>TCO1_CNT.</summary>
    public ushort Tco1Control { get { lock (_lock) { return (ushort)DeviceRegion.ReadLe(_regs, 0x08, 2); } } }

    /// <summary>Reset values: timer 4, TCO_TMR_HLT set.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            Array.Clear(_regs);
            _regs[0x00] = 0x04; // TCO_RLD
            _regs[0x09] = 0x08; // TCO1_CNT: TCO_TMR_HLT
            _regs[0x12] = 0x04; // TCO_TMR
        }
    }

    /// <summary>Writes the 32 register bytes ("tco" after <paramref name="prefix"/>).</summary>
    /// <param name="writer">Where the fields go.</param>
    /// <param name="prefix">Field name prefix.</param>
    internal void SaveState(DeviceStateWriter writer, string prefix)
    {
        lock (_lock)
        {
            writer.WriteBytes(prefix + "tco", _regs);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    /// <param name="prefix">Field name prefix.</param>
    internal Action ReadState(DeviceStateReader reader, string prefix)
    {
        var regs = new byte[_regs.Length];
        reader.ReadBytes(prefix + "tco", regs);
        return () => { lock (_lock) { regs.CopyTo(_regs, 0); } };
    }

    private void Write(ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            for (uint i = 0; i < size && offset + i < 0x20; i++)
            {
                int at = (int)(offset + i);
                byte b = (byte)(value >> (int)(8 * i));
                _regs[at] = W1c[at] != 0 ? (byte)(_regs[at] & ~b) : b;
            }
        }
    }
}
