using System.Diagnostics;
using Memspace.Kvm;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The 8254 interval timer (QEMU's <c>isa-pit</c>, or <c>kvm-pit</c> when KVM's in-kernel PIT serves the
/// ports): "pit"/"kvm-pit", 4 ports at 0x40. Control words select a counter's access mode (LSB, MSB,
/// both) and operating mode, or latch its count; counters count down at 1.193182 MHz from the value
/// written, reloading (modes 2 and 3) or stopping at 0. Channel 2's gate and output are what port 0x61
/// shows (<see cref="PcSpeaker"/>). No interrupt is delivered.
/// </summary>
public sealed class I8254Pit : IDeviceState
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

    /// <summary>The VM whose in-kernel PIT this device stands for, or null (then this model's counters are the state).</summary>
    public IKvmVm? Kernel { get; set; }

    /// <summary>"i8254@0x40".</summary>
    public string StateName => "i8254@0x40";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>
    /// Writes "in_kernel", then KVM's <c>kvm_pit_state2</c> field by field, or per counter of this model:
    /// reload value, mode, access mode, latched count (or none), the LSB/MSB toggles, gate, whether a
    /// count was loaded and the nanoseconds since (so the count continues from where it was).
    /// </summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteBool("in_kernel", Kernel is not null);
        if (Kernel is { } vm)
        {
            KernelChipState.Save(writer, vm.GetPit());
            return;
        }
        lock (_lock)
        {
            long now = _clock();
            for (int i = 0; i < 3; i++)
            {
                Counter c = _counters[i];
                writer.WriteU16($"ch{i}.reload", (ushort)c.Reload);
                writer.WriteU8($"ch{i}.mode", (byte)c.Mode);
                writer.WriteU8($"ch{i}.rw_mode", (byte)c.Access);
                writer.WriteBool($"ch{i}.count_latched", c.Latched >= 0);
                writer.WriteU16($"ch{i}.latched_count", (ushort)Math.Max(0, c.Latched));
                writer.WriteBool($"ch{i}.write_high", c.WriteHigh);
                writer.WriteBool($"ch{i}.read_high", c.ReadHigh);
                writer.WriteBool($"ch{i}.gate", c.Gate);
                writer.WriteBool($"ch{i}.loaded", c.Loaded);
                writer.WriteI64($"ch{i}.elapsed_ns", c.Loaded ? now - c.Start : 0);
            }
        }
    }

    /// <summary>
    /// Reads what <see cref="SaveState"/> wrote, from the same kind of PIT. Refused: modes above 5, access
    /// modes other than 1-3, negative elapsed time; for KVM's state counts above 65536, modes other than
    /// 0-5 or 0xff (never programmed), states above 4, and flags beyond HPET-legacy and speaker-data.
    /// </summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        KernelChipState.ReadInKernel(reader, Kernel is not null, "PIT");
        if (Kernel is { } vm)
        {
            KvmChipState state = KernelChipState.Read(reader, vm.GetPit());
            reader.EnsureEnd();
            for (int i = 0; i < 3; i++)
            {
                string p = $"channels[{i}].";
                KernelChipState.AtMost(reader, state, p + "count", 0x10000);
                KernelChipState.AtMost(reader, state, p + "count_latched", 4);
                KernelChipState.AtMost(reader, state, p + "status_latched", 1);
                KernelChipState.AtMost(reader, state, p + "read_state", 4);
                KernelChipState.AtMost(reader, state, p + "write_state", 4);
                KernelChipState.AtMost(reader, state, p + "rw_mode", 3);
                KernelChipState.AtMost(reader, state, p + "bcd", 1);
                KernelChipState.AtMost(reader, state, p + "gate", 1);
                ulong mode = state[p + "mode"];
                if (mode > 5 && mode != 0xff)
                {
                    throw reader.Fail($"field '{p}mode' is {mode}; modes are 0-5 (0xff: never programmed)");
                }
            }
            KernelChipState.AtMost(reader, state, "flags", 3);
            KernelChipState.Apply(reader, () => vm.SetPit(state));
            return;
        }
        var loaded = new (int Reload, int Mode, int Access, int Latched, bool WriteHigh, bool ReadHigh, bool Gate, bool Loaded, long Elapsed)[3];
        for (int i = 0; i < 3; i++)
        {
            int reload = reader.ReadU16($"ch{i}.reload");
            int mode = reader.ReadU8($"ch{i}.mode", 5);
            int access = reader.ReadU8($"ch{i}.rw_mode", 3);
            bool latched = reader.ReadBool($"ch{i}.count_latched");
            int latchedCount = reader.ReadU16($"ch{i}.latched_count");
            bool writeHigh = reader.ReadBool($"ch{i}.write_high");
            bool readHigh = reader.ReadBool($"ch{i}.read_high");
            bool gate = reader.ReadBool($"ch{i}.gate");
            bool isLoaded = reader.ReadBool($"ch{i}.loaded");
            long elapsed = reader.ReadI64($"ch{i}.elapsed_ns");
            if (access == 0 || elapsed < 0 || (!isLoaded && elapsed != 0))
            {
                throw reader.Fail($"counter {i}: access mode {access} or elapsed time {elapsed} ns is out of range");
            }
            loaded[i] = (reload, mode, access, latched ? latchedCount : -1, writeHigh, readHigh, gate, isLoaded, elapsed);
        }
        reader.EnsureEnd();
        lock (_lock)
        {
            long now = _clock();
            for (int i = 0; i < 3; i++)
            {
                Counter c = _counters[i];
                var s = loaded[i];
                (c.Reload, c.Mode, c.Access, c.Latched, c.WriteHigh, c.ReadHigh, c.Gate, c.Loaded) =
                    (s.Reload, s.Mode, s.Access, s.Latched, s.WriteHigh, s.ReadHigh, s.Gate, s.Loaded);
                c.Start = s.Loaded ? now - s.Elapsed : 0;
            }
        }
    }

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
