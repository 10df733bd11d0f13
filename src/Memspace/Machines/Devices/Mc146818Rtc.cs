using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The MC146818 real-time clock and its 128 bytes of CMOS (QEMU's <c>mc146818rtc</c>): "rtc", 2 ports at
/// 0x70 with "rtc-index" over the first (index with the NMI-mask bit 7, then data). Time registers read
/// the host's UTC time in BCD (register B's DM bit selects binary, 24/12-hour); register A's
/// update-in-progress bit, B, C (flags, cleared on read) and D (valid RAM) behave as on the chip; the
/// other bytes are RAM, preset by the board (QEMU's <c>pc_cmos_init</c>: memory sizes, boot order,
/// floppy, CPU count, century).
/// </summary>
public sealed class Mc146818Rtc : IDeviceState
{
    /// <summary>Register A.</summary>
    public const int RegA = 0x0a;

    /// <summary>Register B.</summary>
    public const int RegB = 0x0b;

    /// <summary>Register C.</summary>
    public const int RegC = 0x0c;

    /// <summary>Register D.</summary>
    public const int RegD = 0x0d;

    private readonly Lock _lock = new();
    private readonly byte[] _cmos = new byte[128];
    private readonly Func<DateTime> _now;
    private byte _index;

    /// <summary>Creates the clock and its regions.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="now">Source of the time; null for the host's UTC clock.</param>
    public Mc146818Rtc(MemorySystem system, Func<DateTime>? now = null)
    {
        _now = now ?? (() => DateTime.UtcNow);
        var owner = MemoryRegionOwner.Device("mc146818rtc", "/machine/unattached/device[rtc]");
        Region = DeviceRegion.Create(system, "rtc", 2, (a, _) => Read((int)a), (a, v, _) => Write((int)a, (byte)v), owner, 1);
        Index = DeviceRegion.Create(system, "rtc-index", 1, (_, _) => Read(0), (_, v, _) => Write(0, (byte)v), owner, 1);
        Region.AddSubregion(0, Index);
        _cmos[RegA] = 0x26;
        _cmos[RegB] = 0x02;
        _cmos[RegD] = 0x80;
    }

    /// <summary>"rtc" (with "rtc-index" inside).</summary>
    public MemoryRegion Region { get; }

    /// <summary>"rtc-index".</summary>
    public MemoryRegion Index { get; }

    /// <summary>Whether the guest masked NMIs (index bit 7).</summary>
    public bool NmiMasked { get { lock (_lock) { return (_index & 0x80) != 0; } } }

    /// <summary>Reads CMOS byte <paramref name="register"/> as the guest would see it.</summary>
    /// <param name="register">0-127.</param>
    public byte this[int register]
    {
        get { lock (_lock) { return ReadRegister(register & 0x7f, peek: true); } }
        set { lock (_lock) { _cmos[register & 0x7f] = value; } }
    }

    /// <summary>
    /// QEMU's <c>pc_cmos_init</c> memory registers: 0x15/0x16 base memory (640 KiB), 0x17/0x18 and
    /// 0x30/0x31 memory from 1 MiB to 64 MiB in KiB, 0x34/0x35 memory from 16 MiB below 4 GiB in
    /// 64 KiB units, 0x5b-0x5d memory above 4 GiB in 64 KiB units.
    /// </summary>
    /// <param name="below4g">RAM below 4 GiB.</param>
    /// <param name="above4g">RAM above 4 GiB.</param>
    public void SetMemorySize(ulong below4g, ulong above4g)
    {
        lock (_lock)
        {
            _cmos[0x15] = 0x80;
            _cmos[0x16] = 0x02;
            ulong ext = below4g > 1024 * 1024 ? (below4g - 1024 * 1024) / 1024 : 0;
            ext = Math.Min(ext, 65535);
            _cmos[0x17] = _cmos[0x30] = (byte)ext;
            _cmos[0x18] = _cmos[0x31] = (byte)(ext >> 8);
            ulong high = below4g > 16 * 1024 * 1024 ? (below4g - 16 * 1024 * 1024) / 65536 : 0;
            high = Math.Min(high, 65535);
            _cmos[0x34] = (byte)high;
            _cmos[0x35] = (byte)(high >> 8);
            ulong top = above4g / 65536;
            _cmos[0x5b] = (byte)top;
            _cmos[0x5c] = (byte)(top >> 8);
            _cmos[0x5d] = (byte)(top >> 16);
        }
    }

    /// <summary>Maps "rtc" at 0x70.</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(0x70, Region);
    }

    /// <summary>"mc146818rtc@0x70".</summary>
    public string StateName => "mc146818rtc@0x70";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes the 128 CMOS bytes ("cmos") and the index register with its NMI-mask bit ("index"). The time registers read the host clock and carry nothing.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteBytes("cmos", _cmos);
            writer.WriteU8("index", _index);
        }
    }

    /// <summary>
    /// Reads what <see cref="SaveState"/> wrote. As on the chip, the index selects register
    /// (index &amp; 0x7f) and bit 7 masks NMIs, so every index byte is accepted; register A's
    /// update-in-progress bit is masked (it is the chip's, not the guest's) and register D must
    /// report valid RAM (0x80).
    /// </summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        var cmos = new byte[128];
        reader.ReadBytes("cmos", cmos);
        byte index = reader.ReadU8("index");
        if (cmos[RegD] != 0x80)
        {
            throw reader.Fail($"register D is 0x{cmos[RegD]:x2}; it is read-only and reads 0x80 (valid RAM)");
        }
        reader.EnsureEnd();
        cmos[RegA] &= 0x7f;
        lock (_lock)
        {
            cmos.CopyTo(_cmos, 0);
            _index = index;
        }
    }

    private ulong Read(int port)
    {
        lock (_lock)
        {
            return port == 0 ? 0xffUL : ReadRegister(_index & 0x7f, peek: false);
        }
    }

    private void Write(int port, byte value)
    {
        lock (_lock)
        {
            if (port == 0)
            {
                _index = value;
                return;
            }
            int reg = _index & 0x7f;
            switch (reg)
            {
                case RegA: _cmos[RegA] = (byte)((_cmos[RegA] & 0x80) | (value & 0x7f)); break;
                case RegB: _cmos[RegB] = value; break;
                case RegC or RegD: break; // read-only
                default: _cmos[reg] = value; break;
            }
        }
    }

    private byte ReadRegister(int reg, bool peek)
    {
        if (reg is 0 or 2 or 4 or 6 or 7 or 8 or 9 || reg == 0x32)
        {
            DateTime t = _now();
            bool binary = (_cmos[RegB] & 0x04) != 0, h24 = (_cmos[RegB] & 0x02) != 0;
            int v = reg switch
            {
                0 => t.Second,
                2 => t.Minute,
                4 => h24 ? t.Hour : ((t.Hour % 12 == 0) ? 12 : t.Hour % 12),
                6 => (int)t.DayOfWeek + 1,
                7 => t.Day,
                8 => t.Month,
                9 => t.Year % 100,
                _ => t.Year / 100,
            };
            byte b = binary ? (byte)v : (byte)(((v / 10) << 4) | (v % 10));
            if (reg == 4 && !h24 && t.Hour >= 12)
            {
                b |= 0x80;
            }
            return b;
        }
        if (reg == RegC)
        {
            byte c = _cmos[RegC];
            if (!peek)
            {
                _cmos[RegC] = 0;
            }
            return c;
        }
        return _cmos[reg];
    }
}
