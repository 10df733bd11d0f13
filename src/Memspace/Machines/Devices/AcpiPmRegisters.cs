using System.Diagnostics;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ACPI fixed power-management registers (QEMU's <c>ACPIREGS</c> pm1 event, control and timer):
/// "acpi-evt" (PM1 status, write 1 to clear, and enable), "acpi-cnt" (PM1 control: SCI_EN, and SLP_EN
/// with sleep type 0 asking for power off) and "acpi-tmr" (the 24-bit PM timer at 3.579545 MHz), placed
/// at 0, 4 and 8 of the power-management container the bridge moves with PMBASE.
/// </summary>
public sealed class AcpiPmRegisters
{
    /// <summary>PM timer frequency in Hz.</summary>
    public const long TimerFrequency = 3_579_545;

    private readonly Lock _lock = new();
    private readonly Func<long> _clock;
    private ushort _status, _enable, _control;
    private long _timerOffset;

    /// <summary>Creates the three regions and maps them into <paramref name="container"/>.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="container">The power-management block ("piix4-pm", "ich9-pm").</param>
    /// <param name="owner">Owning function.</param>
    /// <param name="clock">Host time in nanoseconds; null for the monotonic clock.</param>
    public AcpiPmRegisters(MemorySystem system, MemoryRegion container, MemoryRegionOwner? owner = null, Func<long>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        _clock = clock ?? (() => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency)));
        Event = DeviceRegion.Create(system, "acpi-evt", 4, (a, s) => ReadEvent(a, s), (a, v, s) => WriteEvent(a, v, s), owner);
        Control = DeviceRegion.Create(system, "acpi-cnt", 2, (a, s) => DeviceRegion.ReadLe(BitConverter.GetBytes(ControlValue), a, s), (a, v, s) => WriteControl(a, v, s), owner);
        Timer = DeviceRegion.Create(system, "acpi-tmr", 4, (a, s) => DeviceRegion.ReadLe(BitConverter.GetBytes(TimerValue), a, s), (_, _, _) => { }, owner);
        container.AddSubregion(0, Event);
        container.AddSubregion(4, Control);
        container.AddSubregion(8, Timer);
    }

    /// <summary>"acpi-evt".</summary>
    public MemoryRegion Event { get; }

    /// <summary>"acpi-cnt".</summary>
    public MemoryRegion Control { get; }

    /// <summary>"acpi-tmr".</summary>
    public MemoryRegion Timer { get; }

    /// <summary>PM1 status.</summary>
    public ushort StatusValue { get { lock (_lock) { return _status; } } }

    /// <summary>PM1 enable.</summary>
    public ushort EnableValue { get { lock (_lock) { return _enable; } } }

    /// <summary>PM1 control.</summary>
    public ushort ControlValue { get { lock (_lock) { return _control; } } }

    /// <summary>The PM timer now (24 bits).</summary>
    public uint TimerValue => (uint)((TimerTicks() + Volatile.Read(ref _timerOffset)) & 0xff_ffff);

    private long TimerTicks() => (long)((Int128)_clock() * TimerFrequency / 1_000_000_000);

    /// <summary>Raised when the guest asks for soft power-off (SLP_EN with sleep type 0).</summary>
    public event Action? PowerOffRequested;

    /// <summary>Firmware sets SCI_EN itself; QEMU presets it when ACPI is enabled by the machine (not here).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _status = _enable = _control = 0;
        }
    }

    /// <summary>Sets status bits (an event happened).</summary>
    /// <param name="bits">PM1 status bits.</param>
    public void Raise(ushort bits)
    {
        lock (_lock)
        {
            _status |= bits;
        }
    }

    /// <summary>Writes PM1 status, enable, control and the PM timer's value now, each field name prefixed by <paramref name="prefix"/>.</summary>
    /// <param name="writer">Where the fields go.</param>
    /// <param name="prefix">Field name prefix ("pm1.").</param>
    internal void SaveState(DeviceStateWriter writer, string prefix)
    {
        lock (_lock)
        {
            writer.WriteU16(prefix + "sts", _status);
            writer.WriteU16(prefix + "en", _enable);
            writer.WriteU16(prefix + "cnt", _control);
        }
        writer.WriteU32(prefix + "tmr", TimerValue);
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; returns what applies it (the timer continues from its saved value).</summary>
    /// <param name="reader">Where the fields come from.</param>
    /// <param name="prefix">Field name prefix.</param>
    internal Action ReadState(DeviceStateReader reader, string prefix)
    {
        ushort status = reader.ReadU16(prefix + "sts");
        ushort enable = reader.ReadU16(prefix + "en");
        ushort control = reader.ReadU16(prefix + "cnt");
        uint timer = reader.ReadU32(prefix + "tmr");
        if (timer > 0xff_ffff)
        {
            throw reader.Fail($"field '{prefix}tmr' is 0x{timer:x}; the PM timer has 24 bits");
        }
        if ((control & (1 << 13)) != 0)
        {
            throw reader.Fail($"field '{prefix}cnt' is 0x{control:x4}: SLP_EN (bit 13) is a command bit and always reads 0");
        }
        return () =>
        {
            lock (_lock)
            {
                _status = status;
                _enable = enable;
                _control = control;
            }
            Volatile.Write(ref _timerOffset, timer - TimerTicks());
        };
    }

    private ulong ReadEvent(ulong offset, uint size)
    {
        lock (_lock)
        {
            byte[] b = [(byte)_status, (byte)(_status >> 8), (byte)_enable, (byte)(_enable >> 8)];
            return DeviceRegion.ReadLe(b, offset, size);
        }
    }

    private void WriteEvent(ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            byte[] b = new byte[4];
            DeviceRegion.WriteLe(b, [], offset, value, size);
            ushort clear = (ushort)(b[0] | (b[1] << 8));
            _status &= (ushort)~(offset < 2 ? clear : 0);
            if (offset + size > 2)
            {
                byte[] e = [(byte)_enable, (byte)(_enable >> 8)];
                for (ulong i = Math.Max(offset, 2); i < offset + size && i < 4; i++)
                {
                    e[i - 2] = b[i];
                }
                _enable = (ushort)(e[0] | (e[1] << 8));
            }
        }
    }

    private void WriteControl(ulong offset, ulong value, uint size)
    {
        bool off = false;
        lock (_lock)
        {
            byte[] c = [(byte)_control, (byte)(_control >> 8)];
            DeviceRegion.WriteLe(c, [], offset, value, size);
            ushort v = (ushort)(c[0] | (c[1] << 8));
            if ((v & (1 << 13)) != 0 && ((v >> 10) & 7) == 0)
            {
                off = true;
            }
            _control = (ushort)(v & ~(1 << 13));
        }
        if (off)
        {
            PowerOffRequested?.Invoke();
        }
    }
}
