using System.Diagnostics;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The high precision event timer at 0xfed00000 ("hpet", QEMU's <c>hpet</c>), 1 KiB: the capabilities
/// register (vendor 0x8086, 3 timers, 64-bit counter, legacy replacement capable, 10 ns period), the
/// configuration register (bit 0 runs the main counter), the main counter at 0xf0 counting at 100 MHz
/// while enabled, and each timer's configuration and comparator registers kept as written. No
/// interrupt is delivered.
/// </summary>
public sealed class Hpet : IDeviceState
{
    /// <summary>Its base address.</summary>
    public const ulong DefaultAddress = 0xfed00000;

    /// <summary>Counter period in femtoseconds (10 ns).</summary>
    public const uint PeriodFs = 10_000_000;

    private const int Timers = 3;
    private readonly Lock _lock = new();
    private readonly ulong[] _timerConfig = new ulong[Timers], _comparator = new ulong[Timers];
    private readonly Func<long> _clock;
    private ulong _config, _counterBase, _isr;
    private long _startNs;

    /// <summary>Creates the region.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="clock">Host time in nanoseconds; null for the monotonic clock.</param>
    public Hpet(MemorySystem system, Func<long>? clock = null)
    {
        _clock = clock ?? (() => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency)));
        Region = DeviceRegion.Create(system, "hpet", 0x400, (a, s) => Read(a, s), (a, v, s) => Write(a, v, s),
            MemoryRegionOwner.Device("hpet", "/machine/unattached/device[hpet]"), 8);
    }

    /// <summary>"hpet".</summary>
    public MemoryRegion Region { get; }

    /// <summary>The capabilities register: period, vendor, legacy route capable, 64-bit, number of timers - 1, revision 1.</summary>
    public static ulong Capabilities => ((ulong)PeriodFs << 32) | (0x8086UL << 16) | (1UL << 15) | (1UL << 13) | ((Timers - 1UL) << 8) | 1;

    /// <summary>Whether the main counter runs.</summary>
    public bool Enabled { get { lock (_lock) { return (_config & 1) != 0; } } }

    /// <summary>"hpet@0xfed00000".</summary>
    public string StateName => "hpet@0xfed00000";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the configuration, interrupt status, the main counter's value now and each timer's configuration and comparator.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU64("config", _config);
            writer.WriteU64("isr", _isr);
            writer.WriteU64("counter", Counter());
            for (int t = 0; t < Timers; t++)
            {
                writer.WriteU64($"timer[{t}].config", _timerConfig[t]);
                writer.WriteU64($"timer[{t}].cmp", _comparator[t]);
            }
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; the main counter continues from its saved value.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        ulong config = reader.ReadU64("config");
        ulong isr = reader.ReadU64("isr");
        ulong counter = reader.ReadU64("counter");
        var timerConfig = new ulong[Timers];
        var comparator = new ulong[Timers];
        for (int t = 0; t < Timers; t++)
        {
            timerConfig[t] = reader.ReadU64($"timer[{t}].config");
            comparator[t] = reader.ReadU64($"timer[{t}].cmp");
            if ((timerConfig[t] & ~0x7f4eUL) != 0)
            {
                throw reader.Fail($"timer {t} configuration 0x{timerConfig[t]:x} has bits outside the writable 0x7f4e");
            }
        }
        if ((config & ~3UL) != 0)
        {
            throw reader.Fail($"configuration 0x{config:x} has bits other than ENABLE_CNF and LEG_RT_CNF");
        }
        reader.EnsureEnd();
        lock (_lock)
        {
            _config = config;
            _isr = isr;
            _counterBase = counter;
            _startNs = _clock();
            timerConfig.CopyTo(_timerConfig, 0);
            comparator.CopyTo(_comparator, 0);
        }
    }

    private ulong Counter() => (_config & 1) == 0 ? _counterBase : _counterBase + (ulong)((_clock() - _startNs) / 10);

    private ulong Read(ulong offset, uint size)
    {
        lock (_lock)
        {
            ulong reg = offset & ~7UL;
            ulong value = reg switch
            {
                0x000 => Capabilities,
                0x010 => _config,
                0x020 => _isr,
                0x0f0 => Counter(),
                >= 0x100 and < 0x100 + (0x20 * Timers) => ((reg - 0x100) % 0x20) switch
                {
                    0x00 => _timerConfig[(reg - 0x100) / 0x20] | (1UL << 5) | (1UL << 4) | (0x00ff_ffffUL << 32),
                    0x08 => _comparator[(reg - 0x100) / 0x20],
                    _ => 0,
                },
                _ => 0,
            };
            value >>= (int)(8 * (offset & 7));
            return size >= 8 ? value : value & ((1UL << (int)(8 * size)) - 1);
        }
    }

    private void Write(ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            ulong reg = offset & ~7UL;
            int shift = (int)(8 * (offset & 7));
            ulong mask = (size >= 8 ? ulong.MaxValue : (1UL << (int)(8 * size)) - 1) << shift;
            ulong Merge(ulong old) => (old & ~mask) | ((value << shift) & mask);
            switch (reg)
            {
                case 0x010:
                    ulong counter = Counter();
                    _config = Merge(_config) & 3;
                    _counterBase = counter;
                    _startNs = _clock();
                    break;
                case 0x020:
                    _isr &= ~((value << shift) & mask);
                    break;
                case 0x0f0:
                    if ((_config & 1) == 0)
                    {
                        _counterBase = Merge(_counterBase);
                    }
                    break;
                case >= 0x100 and < 0x100 + (0x20 * Timers):
                    int t = (int)((reg - 0x100) / 0x20);
                    if ((reg - 0x100) % 0x20 == 0)
                    {
                        _timerConfig[t] = Merge(_timerConfig[t]) & 0x7f4e;
                    }
                    else if ((reg - 0x100) % 0x20 == 8)
                    {
                        _comparator[t] = Merge(_comparator[t]);
                    }
                    break;
            }
        }
    }
}
