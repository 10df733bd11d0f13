using System.Text;
using Memspace.Core;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// A 16550-style UART, enough for a guest to print: eight byte-wide registers at a port base
/// ("serial", like QEMU's <c>isa-serial</c>). The transmitter is always empty and ready, so a byte
/// written to THR is delivered at once to <see cref="Output"/> and <see cref="Transmitted"/>; nothing
/// is ever received. Divisor latch, IER, LCR, MCR and scratch registers hold what is written.
/// </summary>
public sealed class Serial16550 : IDeviceState
{
    /// <summary>COM1.</summary>
    public const ushort Com1 = 0x3f8;

    private const byte LsrThrEmpty = 0x20, LsrTransmitterEmpty = 0x40, LcrDlab = 0x80;
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();
    private byte _ier, _lcr, _mcr, _scratch, _dll = 0x0c, _dlm;

    /// <summary>Creates the UART's I/O region (not yet mapped).</summary>
    /// <param name="system">The memory system.</param>
    public Serial16550(MemorySystem system)
    {
        Region = MemoryRegion.CreateIo(system, "serial", 8, new MemoryRegionOps
        {
            Read = (addr, _) => Read((int)addr),
            Write = (addr, value, _) => Write((int)addr, (byte)value),
            Valid = new ValidAccess { MinAccessSize = 1, MaxAccessSize = 1 },
            Endianness = DeviceEndianness.Little,
        }, MemoryRegionOwner.Device("isa-serial", "/machine/unattached/device[serial]"));
    }

    /// <summary>The eight registers.</summary>
    public MemoryRegion Region { get; }

    /// <summary>Everything the guest has transmitted.</summary>
    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Raised for every byte the guest transmits, on the vCPU thread.</summary>
    public event Action<byte>? Transmitted;

    /// <summary>"serial@0x3f8".</summary>
    public string StateName => "serial@0x3f8";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes IER, LCR, MCR, the scratch register and the divisor latch (what the guest has written; the transmitter is always empty and nothing is received).</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU8("ier", _ier);
            writer.WriteU8("lcr", _lcr);
            writer.WriteU8("mcr", _mcr);
            writer.WriteU8("scr", _scratch);
            writer.WriteU8("dll", _dll);
            writer.WriteU8("dlm", _dlm);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; IER above 0x0f and MCR above 0x1f are refused (the chip keeps fewer bits).</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        byte ier = reader.ReadU8("ier", 0x0f);
        byte lcr = reader.ReadU8("lcr");
        byte mcr = reader.ReadU8("mcr", 0x1f);
        byte scratch = reader.ReadU8("scr");
        byte dll = reader.ReadU8("dll");
        byte dlm = reader.ReadU8("dlm");
        reader.EnsureEnd();
        lock (_lock)
        {
            (_ier, _lcr, _mcr, _scratch, _dll, _dlm) = (ier, lcr, mcr, scratch, dll, dlm);
        }
    }

    private ulong Read(int reg)
    {
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            return reg switch
            {
                0 => dlab ? _dll : 0u,        // RBR: nothing received
                1 => dlab ? _dlm : _ier,
                2 => 0x01,                    // IIR: no interrupt pending
                3 => _lcr,
                4 => _mcr,
                5 => LsrThrEmpty | LsrTransmitterEmpty,
                6 => 0xb0,                    // MSR: DCD, DSR, CTS
                _ => _scratch,
            };
        }
    }

    private void Write(int reg, byte value)
    {
        bool transmit = false;
        lock (_lock)
        {
            bool dlab = (_lcr & LcrDlab) != 0;
            switch (reg)
            {
                case 0 when dlab: _dll = value; break;
                case 0: _output.Append((char)value); transmit = true; break;
                case 1 when dlab: _dlm = value; break;
                case 1: _ier = (byte)(value & 0x0f); break;
                case 3: _lcr = value; break;
                case 4: _mcr = (byte)(value & 0x1f); break;
                case 7: _scratch = value; break;
            }
        }
        if (transmit)
        {
            Transmitted?.Invoke(value);
        }
    }
}
