using System.Diagnostics;
using Memspace.Core;
using Memspace.Machines.State;
using Memspace.Regions;
using static Memspace.Machines.Guests.DirtyGuestLayout;

namespace Memspace.Machines.Guests;

/// <summary>
/// The writing guest's pacing device at ports 0x5e0-0x5ef (<see cref="DirtyGuestLayout"/>): it hands the
/// guest a growing write credit (<see cref="Rate"/> pages per second, or a large batch when unpaced),
/// passes the host's stop command, and takes the guest's progress reports and status. Reading the
/// credit and the command has no side effect, so a read the guest repeats (after a restore) changes
/// nothing. Its registers travel with the machine (<see cref="IDeviceState"/>).
/// </summary>
public sealed class DirtyPacer : IDeviceState
{
    /// <summary>Pages the guest may write per credit read when unpaced.</summary>
    public const uint UnpacedBatch = 8192;

    private readonly Lock _lock = new();
    private readonly AddressSpace _memory;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _allowed;
    private double _rate;
    private TimeSpan _lastCredit;
    private bool _stopRequested;
    private uint _status;
    private ulong _writes;
    private ulong _checksum;
    private ulong _reports;

    private DirtyPacer(Machine machine, double rate)
    {
        _memory = machine.Memory;
        Rate = rate;
        Region = MemoryRegion.CreateIo(machine.System, "dirty-pacer", 16, new MemoryRegionOps
        {
            Read = (offset, _) => Read(offset),
            Write = (offset, value, _) => Write(offset, (uint)value),
            Valid = new ValidAccess { MinAccessSize = 4, MaxAccessSize = 4 },
            Endianness = DeviceEndianness.Little,
        }, MemoryRegionOwner.Device("dirty-pacer", "/machine/dirty-pacer"));
    }

    /// <summary>Creates the device on <paramref name="machine"/>'s I/O space and registers its state.</summary>
    /// <param name="machine">The machine.</param>
    /// <param name="rate">Pages per second the guest may write; 0 for as fast as it can.</param>
    public static DirtyPacer Attach(Machine machine, double rate)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var pacer = new DirtyPacer(machine, rate);
        machine.SystemIo.AddSubregion(PortBase, pacer.Region, 1);
        machine.RegisterDeviceState(pacer);
        return pacer;
    }

    /// <summary>The device's ports.</summary>
    public MemoryRegion Region { get; }

    /// <summary>Pages per second the guest may write; 0 for unpaced.</summary>
    public double Rate
    {
        get => _rate;
        set
        {
            if (!double.IsFinite(value) || value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), "the rate must be a finite number of pages per second, 0 for unpaced");
            }
            lock (_lock)
            {
                _rate = value;
            }
        }
    }

    /// <summary>Writes the guest had done at its last report.</summary>
    public ulong Writes
    {
        get
        {
            lock (_lock)
            {
                return _writes;
            }
        }
    }

    /// <summary>The guest's checksum at its last report.</summary>
    public ulong Checksum
    {
        get
        {
            lock (_lock)
            {
                return _checksum;
            }
        }
    }

    /// <summary>Progress reports received.</summary>
    public ulong Reports
    {
        get
        {
            lock (_lock)
            {
                return _reports;
            }
        }
    }

    /// <summary>Host time (since the device was created) of the first report, the guest's first act in ring 3; null before.</summary>
    public TimeSpan? FirstReport { get; private set; }

    /// <summary>Host time (since the device was created) of the guest's first instruction (its write to <see cref="DirtyGuestLayout.PortId"/>); null before.</summary>
    public TimeSpan? GuestStarted { get; private set; }

    /// <summary>Whether the guest acknowledged a stop and is waiting.</summary>
    public bool Stopped
    {
        get
        {
            lock (_lock)
            {
                return _status == 1;
            }
        }
    }

    /// <summary>The page the guest found not holding its last write, or null.</summary>
    public ulong? BadPage
    {
        get
        {
            lock (_lock)
            {
                return (_status & StatusBadPage) != 0 ? _status & ~StatusBadPage : null;
            }
        }
    }

    /// <summary>Raised on the vCPU thread at each progress report, with the writes and checksum.</summary>
    public event Action<ulong, ulong>? Reported;

    /// <summary>Asks the guest to stop writing (it acknowledges: <see cref="Stopped"/>), or to go on.</summary>
    /// <param name="stop">True to stop, false to go on.</param>
    public void RequestStop(bool stop = true)
    {
        lock (_lock)
        {
            _stopRequested = stop;
        }
    }

    /// <inheritdoc/>
    public string StateName => "dirty-pacer@0x5e0";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <inheritdoc/>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU64("rate_bits", BitConverter.DoubleToUInt64Bits(_rate));
            writer.WriteU64("allowed_bits", BitConverter.DoubleToUInt64Bits(_allowed));
            writer.WriteBool("stop_requested", _stopRequested);
            writer.WriteU32("status", _status);
            writer.WriteU64("writes", _writes);
            writer.WriteU64("checksum", _checksum);
            writer.WriteU64("reports", _reports);
        }
    }

    /// <inheritdoc/>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (reader.Version != StateVersion)
        {
            throw reader.Fail($"version {reader.Version}; version {StateVersion} expected");
        }
        double rate = BitConverter.UInt64BitsToDouble(reader.ReadU64("rate_bits"));
        double allowed = BitConverter.UInt64BitsToDouble(reader.ReadU64("allowed_bits"));
        bool stop = reader.ReadBool("stop_requested");
        uint status = reader.ReadU32("status");
        ulong writes = reader.ReadU64("writes");
        ulong checksum = reader.ReadU64("checksum");
        ulong reports = reader.ReadU64("reports");
        reader.EnsureEnd();
        if (!double.IsFinite(rate) || rate < 0)
        {
            throw reader.Fail($"field 'rate_bits' is {rate}, not a rate");
        }
        if (!double.IsFinite(allowed) || allowed < 0)
        {
            throw reader.Fail($"field 'allowed_bits' is {allowed}, not a credit");
        }
        lock (_lock)
        {
            _rate = rate;
            _allowed = allowed;
            _stopRequested = stop;
            _status = status;
            _writes = writes;
            _checksum = checksum;
            _reports = reports;
            // No credit accrues while the machine is not running here.
            _lastCredit = _clock.Elapsed;
        }
    }

    private ulong Read(ulong offset)
    {
        switch (offset)
        {
            case PortCredit - PortBase:
                return Credit();
            case PortCommand - PortBase:
                lock (_lock)
                {
                    return _stopRequested ? 1u : 0u;
                }
            case PortId - PortBase:
                return Id;
            default:
                return 0;
        }
    }

    /// <summary>
    /// The total the guest may have written, low 32 bits. Paced, it grows by <see cref="Rate"/> per second
    /// and runs at most a twentieth of a second ahead of the last report; when nothing is due it waits
    /// (at most 5 ms) for the next page rather than let the guest spin through exits.
    /// </summary>
    private ulong Credit()
    {
        for (int attempt = 0; ; attempt++)
        {
            TimeSpan wait;
            lock (_lock)
            {
                TimeSpan now = _clock.Elapsed;
                if (_rate == 0)
                {
                    _allowed = _writes + (double)UnpacedBatch;
                    _lastCredit = now;
                    return (uint)(ulong)_allowed;
                }
                _allowed += _rate * (now - _lastCredit).TotalSeconds;
                _lastCredit = now;
                double cap = _writes + Math.Max(1, _rate / 20);
                _allowed = Math.Max(Math.Min(_allowed, cap), _writes);
                if (_allowed >= _writes + 1 || attempt > 0)
                {
                    return (uint)(ulong)_allowed;
                }
                wait = TimeSpan.FromSeconds(Math.Min(0.005, (_writes + 1 - _allowed) / _rate));
            }
            Thread.Sleep(wait);
        }
    }

    private void Write(ulong offset, uint value)
    {
        switch (offset)
        {
            case PortCommand - PortBase:
                lock (_lock)
                {
                    _status = value;
                }
                break;
            case PortId - PortBase:
                GuestStarted ??= _clock.Elapsed;
                break;
            case PortReport - PortBase:
                ulong writes = _memory.LoadU64Le(ControlPage + ControlWrites, out _, MemTxAttrs.UnspecifiedAttrs);
                ulong checksum = _memory.LoadU64Le(ControlPage + ControlChecksum, out _, MemTxAttrs.UnspecifiedAttrs);
                lock (_lock)
                {
                    _writes = writes;
                    _checksum = checksum;
                    _reports++;
                    FirstReport ??= _clock.Elapsed;
                }
                Reported?.Invoke(writes, checksum);
                break;
        }
    }

    /// <summary>Host time since the device was created.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;
}
