using System.Diagnostics;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The Intel 8254 programmable interval timer in userspace (QEMU's <c>isa-pit</c> without KVM's): three
/// counters at 1.193182 MHz behind ports 0x40-0x43 (a region named "pit"), with mode and access
/// commands, counter latch, read-back, and counts that follow host time. Counter 0's output drives
/// ISA IRQ 0 through a host timer while it runs in a periodic mode (2 or 3), or once in mode 0.
/// </summary>
public sealed class Pit8254 : IDisposable, IDeviceState
{
    /// <summary>Input clock, Hz.</summary>
    public const long Frequency = 1_193_182;

    private readonly Lock _lock = new();
    private readonly Channel[] _channels = [new(), new(), new()];
    private readonly Action _irq0;
    private Timer? _timer;

    /// <summary>Creates the timer and its I/O region (not yet mapped).</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="irq0">Called on each rising edge of counter 0's output (on a timer thread).</param>
    public Pit8254(MemorySystem system, Action irq0)
    {
        _irq0 = irq0;
        Region = MemoryRegion.CreateIo(system, "pit", 4, new MemoryRegionOps
        {
            Read = (addr, _) => Read((int)addr),
            Write = (addr, value, _) => Write((int)addr, (byte)value),
            Valid = new ValidAccess { MinAccessSize = 1, MaxAccessSize = 1 },
            Impl = new ImplAccess { MinAccessSize = 1, MaxAccessSize = 1 },
        }, MemoryRegionOwner.Device("isa-pit"));
    }

    /// <summary>"pit", at port 0x40.</summary>
    public MemoryRegion Region { get; }

    /// <summary>Whether counter 0 will raise IRQ 0 again.</summary>
    public bool Running
    {
        get
        {
            lock (_lock)
            {
                return _timer is not null;
            }
        }
    }

    /// <summary>Rising edges of counter 0's output delivered so far.</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    private long _ticks;

    /// <summary>Counter <paramref name="channel"/>'s mode (0-5), for tests and diagnostics.</summary>
    public int Mode(int channel) => _channels[channel].Mode;

    /// <summary>Counter <paramref name="channel"/>'s reload value (1 to 65536).</summary>
    public int Reload(int channel) => _channels[channel].Count;

    private static long Now => Stopwatch.GetTimestamp();

    private byte Read(int port)
    {
        lock (_lock)
        {
            if (port == 3)
            {
                return 0xff; // the control word register cannot be read
            }
            Channel c = _channels[port];
            if (c.StatusLatched)
            {
                c.StatusLatched = false;
                return c.Status;
            }
            if (c.LatchState != 0)
            {
                byte v = c.LatchState switch
                {
                    1 => (byte)c.Latched,
                    2 => (byte)(c.Latched >> 8),
                    3 => (byte)c.Latched,
                    _ => (byte)(c.Latched >> 8),
                };
                c.LatchState = c.LatchState == 3 ? 4 : 0;
                return v;
            }
            int count = c.CurrentCount(Now);
            switch (c.ReadState)
            {
                case 1:
                    return (byte)count;
                case 2:
                    return (byte)(count >> 8);
                case 3:
                    c.ReadState = 4;
                    return (byte)count;
                default:
                    c.ReadState = 3;
                    return (byte)(count >> 8);
            }
        }
    }

    private void Write(int port, byte value)
    {
        lock (_lock)
        {
            if (port == 3)
            {
                Control(value);
                return;
            }
            Channel c = _channels[port];
            switch (c.WriteState)
            {
                case 1:
                    Load(port, value);
                    break;
                case 2:
                    Load(port, value << 8);
                    break;
                case 3:
                    c.WriteLatch = value;
                    c.WriteState = 4;
                    break;
                default:
                    Load(port, c.WriteLatch | (value << 8));
                    c.WriteState = 3;
                    break;
            }
        }
    }

    private void Control(byte value)
    {
        int channel = value >> 6;
        if (channel == 3)
        {
            // Read-back: bits 1-3 select counters; bit 5 clear latches counts, bit 4 clear latches status.
            for (int i = 0; i < 3; i++)
            {
                if ((value & (2 << i)) == 0)
                {
                    continue;
                }
                Channel c = _channels[i];
                if ((value & 0x20) == 0)
                {
                    LatchCount(c);
                }
                if ((value & 0x10) == 0 && !c.StatusLatched)
                {
                    c.Status = (byte)((c.RwMode << 4) | (c.Mode << 1) | c.Bcd);
                    c.StatusLatched = true;
                }
            }
            return;
        }
        Channel ch = _channels[channel];
        int access = (value >> 4) & 3;
        if (access == 0)
        {
            LatchCount(ch);
            return;
        }
        ch.RwMode = access;
        ch.ReadState = ch.WriteState = access;
        int mode = (value >> 1) & 7;
        ch.Mode = mode >= 6 ? mode - 4 : mode;
        ch.Bcd = value & 1;
        if (channel == 0)
        {
            StopTimer(); // a new mode word stops the counter until a count is written
        }
    }

    private void LatchCount(Channel c)
    {
        if (c.LatchState == 0)
        {
            c.Latched = c.CurrentCount(Now);
            c.LatchState = c.RwMode;
        }
    }

    private void Load(int channel, int value)
    {
        Channel c = _channels[channel];
        c.Count = value == 0 ? 0x10000 : value;
        c.LoadTime = Now;
        if (channel == 0)
        {
            StopTimer();
            var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, c.Count * TimeSpan.TicksPerSecond / Frequency));
            bool periodic = c.Mode is 2 or 3;
            if (periodic || c.Mode == 0)
            {
                _timer = new Timer(_ => Fire(periodic), null, period, periodic ? period : Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>"i8254@0x40".</summary>
    public string StateName => "i8254@0x40";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>
    /// Writes per counter its count, modes, latches and the nanoseconds since its count was loaded (the
    /// count continues from there), and whether counter 0 is raising IRQ 0.
    /// </summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            long now = Now;
            for (int i = 0; i < 3; i++)
            {
                Channel c = _channels[i];
                string p = $"channels[{i}].";
                writer.WriteU32(p + "count", (uint)c.Count);
                writer.WriteU8(p + "mode", (byte)c.Mode);
                writer.WriteU8(p + "bcd", (byte)c.Bcd);
                writer.WriteU8(p + "rw_mode", (byte)c.RwMode);
                writer.WriteU8(p + "read_state", (byte)c.ReadState);
                writer.WriteU8(p + "write_state", (byte)c.WriteState);
                writer.WriteU8(p + "write_latch", c.WriteLatch);
                writer.WriteU16(p + "latched_count", (ushort)c.Latched);
                writer.WriteU8(p + "count_latched", (byte)c.LatchState);
                writer.WriteBool(p + "status_latched", c.StatusLatched);
                writer.WriteU8(p + "status", c.Status);
                writer.WriteI64(p + "elapsed_ns", (long)((now - c.LoadTime) * (1e9 / Stopwatch.Frequency)));
            }
            writer.WriteBool("irq0_running", _timer is not null);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote (counts 1-65536, modes 0-5, states 1-4), and restarts counter 0's interrupts if they ran.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        var saved = new Channel[3];
        var elapsed = new long[3];
        for (int i = 0; i < 3; i++)
        {
            string p = $"channels[{i}].";
            var c = new Channel();
            uint count = reader.ReadU32(p + "count");
            c.Mode = reader.ReadU8(p + "mode", 5);
            c.Bcd = reader.ReadU8(p + "bcd", 1);
            c.RwMode = reader.ReadU8(p + "rw_mode", 3);
            c.ReadState = reader.ReadU8(p + "read_state", 4);
            c.WriteState = reader.ReadU8(p + "write_state", 4);
            c.WriteLatch = reader.ReadU8(p + "write_latch");
            c.Latched = reader.ReadU16(p + "latched_count");
            c.LatchState = reader.ReadU8(p + "count_latched", 4);
            c.StatusLatched = reader.ReadBool(p + "status_latched");
            c.Status = reader.ReadU8(p + "status");
            elapsed[i] = reader.ReadI64(p + "elapsed_ns");
            if (count is 0 or > 0x10000 || c.RwMode == 0 || c.ReadState == 0 || c.WriteState == 0 || elapsed[i] < 0)
            {
                throw reader.Fail($"counter {i}: count {count}, access mode {c.RwMode}, read/write state {c.ReadState}/{c.WriteState} or elapsed time {elapsed[i]} ns is out of range");
            }
            c.Count = (int)count;
            saved[i] = c;
        }
        bool running = reader.ReadBool("irq0_running");
        reader.EnsureEnd();
        lock (_lock)
        {
            long now = Now;
            for (int i = 0; i < 3; i++)
            {
                saved[i].LoadTime = now - (long)(elapsed[i] * (Stopwatch.Frequency / 1e9));
                _channels[i] = saved[i];
            }
            StopTimer();
            if (running)
            {
                Channel c0 = _channels[0];
                var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, c0.Count * TimeSpan.TicksPerSecond / Frequency));
                bool periodic = c0.Mode is 2 or 3;
                _timer = new Timer(_ => Fire(periodic), null, period, periodic ? period : Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Fire(bool periodic)
    {
        if (!periodic)
        {
            lock (_lock)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }
        Interlocked.Increment(ref _ticks);
        _irq0();
    }

    private void StopTimer()
    {
        _timer?.Dispose();
        _timer = null;
    }

    /// <summary>Stops counter 0's host timer.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            StopTimer();
        }
    }

    private sealed class Channel
    {
        public int Count = 0x10000;
        public int Mode;
        public int Bcd;
        public int RwMode = 3;
        public int ReadState = 3;
        public int WriteState = 3;
        public byte WriteLatch;
        public int Latched;
        public int LatchState;
        public bool StatusLatched;
        public byte Status;
        public long LoadTime = Now;

        /// <summary>The counter's value now: it counts down from <see cref="Count"/> at 1.193182 MHz (twice as fast in mode 3).</summary>
        public int CurrentCount(long now)
        {
            long elapsed = (long)((now - LoadTime) * (double)Frequency / Stopwatch.Frequency);
            return Mode switch
            {
                2 => (int)(Count - (elapsed % Count)) & 0xffff,
                3 => (int)(Count - ((2 * elapsed) % Count)) & 0xfffe,
                _ => (int)((Count - elapsed) & 0xffff),
            };
        }
    }
}
