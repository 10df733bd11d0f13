using System.Diagnostics;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The 8254 interval timer (QEMU's <c>isa-pit</c>, or <c>kvm-pit</c> when KVM's in-kernel PIT serves the
/// ports): "pit"/"kvm-pit", 4 ports at 0x40. Control words select a counter's access mode (LSB, MSB,
/// both) and operating mode, or latch its count; counters count down at 1.193182 MHz from the value
/// written, reloading (modes 2 and 3) or stopping at 0. Channel 2's gate and output are what port 0x61
/// shows (<see cref="PcSpeaker"/>). No interrupt is delivered.
/// </summary>
public sealed class I8254Pit
{
    /// <summary>Input clock in Hz.</summary>
    public const long Frequency = 1_193_182;

    private readonly Lock _lock = new();
    private readonly Counter[] _counters = [new(), new(), new()];
    private readonly Func<long> _clock;

    /// <summary>Creates the timer's region.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="inKernel">Named as QEMU names KVM's in-kernel PIT.</param>
    /// <param name="clock">Host time in nanoseconds; null for the monotonic clock.</param>
    public I8254Pit(MemorySystem system, bool inKernel, Func<long>? clock = null)
    {
        _clock = clock ?? (() => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency)));
        Region = DeviceRegion.Create(system, inKernel ? "kvm-pit" : "pit", 4, (a, _) => Read((int)a), (a, v, _) => Write((int)a, (byte)v),
            MemoryRegionOwner.Device(inKernel ? "kvm-pit" : "isa-pit", "/machine/unattached/device[pit]"), 1);
    }

    /// <summary>"pit"/"kvm-pit".</summary>
    public MemoryRegion Region { get; }

    /// <summary>Gate of channel 2 (port 0x61 bit 0).</summary>
    public bool Channel2Gate { get { lock (_lock) { return _counters[2].Gate; } } set { lock (_lock) { _counters[2].Gate = value; } } }

    /// <summary>Output of channel 2 (port 0x61 bit 5).</summary>
    public bool Channel2Output { get { lock (_lock) { return Output(2); } } }

    /// <summary>The reload value of counter <paramref name="channel"/> (0 means 65536).</summary>
    /// <param name="channel">0-2.</param>
    public int Reload(int channel) { lock (_lock) { return _counters[channel % 3].Reload; } }

    /// <summary>The operating mode of counter <paramref name="channel"/>.</summary>
    /// <param name="channel">0-2.</param>
    public int Mode(int channel) { lock (_lock) { return _counters[channel % 3].Mode; } }

    /// <summary>The count counter <paramref name="channel"/> would read now.</summary>
    /// <param name="channel">0-2.</param>
    public int CurrentCount(int channel) { lock (_lock) { return Count(channel % 3); } }

    private sealed class Counter
    {
        public int Reload, Mode, Access = 3, Latched = -1;
        public bool WriteHigh, ReadHigh, Gate = true, Loaded;
        public long Start;
    }

    private long Ticks(Counter c) => (_clock() - c.Start) * Frequency / 1_000_000_000;

    private int Count(int ch)
    {
        Counter c = _counters[ch];
        if (!c.Loaded)
        {
            return 0;
        }
        long period = c.Reload == 0 ? 0x10000 : c.Reload;
        long t = Ticks(c);
        return c.Mode is 2 or 3 ? (int)(period - (t % period)) & 0xffff : (int)Math.Max(0, period - t) & 0xffff;
    }

    private bool Output(int ch)
    {
        Counter c = _counters[ch];
        if (!c.Loaded)
        {
            return false;
        }
        long period = c.Reload == 0 ? 0x10000 : c.Reload;
        long t = Ticks(c);
        return c.Mode switch
        {
            0 => t >= period,
            3 => t % period < (period + 1) / 2,
            2 => t % period != period - 1,
            _ => true,
        };
    }

    private ulong Read(int port)
    {
        lock (_lock)
        {
            if (port == 3)
            {
                return 0xff;
            }
            Counter c = _counters[port];
            int value = c.Latched >= 0 ? c.Latched : Count(port);
            byte b;
            switch (c.Access)
            {
                case 1: b = (byte)value; c.Latched = -1; break;
                case 2: b = (byte)(value >> 8); c.Latched = -1; break;
                default:
                    b = c.ReadHigh ? (byte)(value >> 8) : (byte)value;
                    if (c.ReadHigh)
                    {
                        c.Latched = -1;
                    }
                    c.ReadHigh = !c.ReadHigh;
                    break;
            }
            return b;
        }
    }

    private void Write(int port, byte value)
    {
        lock (_lock)
        {
            if (port == 3)
            {
                int ch = value >> 6;
                if (ch == 3)
                {
                    return; // read-back command: not modelled
                }
                Counter c = _counters[ch];
                int access = (value >> 4) & 3;
                if (access == 0)
                {
                    c.Latched = c.Latched >= 0 ? c.Latched : Count(ch);
                    return;
                }
                c.Access = access;
                c.Mode = (value >> 1) & 7;
                if (c.Mode > 5)
                {
                    c.Mode -= 4;
                }
                c.WriteHigh = c.ReadHigh = false;
                c.Latched = -1;
                return;
            }
            Counter k = _counters[port];
            switch (k.Access)
            {
                case 1: Load(k, value); break;
                case 2: Load(k, value << 8); break;
                default:
                    if (!k.WriteHigh)
                    {
                        k.Reload = (k.Reload & 0xff00) | value;
                        k.WriteHigh = true;
                    }
                    else
                    {
                        Load(k, (k.Reload & 0xff) | (value << 8));
                        k.WriteHigh = false;
                    }
                    break;
            }
        }
    }

    private void Load(Counter c, int reload)
    {
        c.Reload = reload & 0xffff;
        c.Loaded = true;
        c.Start = _clock();
    }
}
