using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// One Intel 8257/8237 DMA controller (QEMU's <c>i8257</c>): "dma-chan" (channel address and count
/// registers behind a byte flip-flop), "dma-cont" (command, request, mask, mode, flip-flop clear, master
/// clear) and two "dma-page" windows. Controller 0 is at 0x00 with pages 0x81-0x83, 0x87; controller 1
/// (word transfers, registers 2 bytes apart) at 0xc0 with pages 0x89-0x8b, 0x8f. Nothing is transferred.
/// </summary>
public sealed class I8257Dma : IDeviceState
{
    private static readonly int[] PageChannel = [-1, 2, 3, 1, -1, -1, -1, 0];
    private readonly Lock _lock = new();
    private readonly ushort[] _base = new ushort[4], _count = new ushort[4];
    private readonly byte[] _mode = new byte[4], _page = new byte[4];
    private bool _flipFlop;
    private byte _command, _status, _mask = 0x0f, _request;

    /// <summary>Creates controller <paramref name="index"/> (0 or 1); <see cref="Map"/> puts it in the I/O space.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="index">0: 8-bit channels at 0x00; 1: 16-bit channels at 0xc0.</param>
    public I8257Dma(MemorySystem system, int index)
    {
        Index = index;
        int shift = index;
        var owner = MemoryRegionOwner.Device("i8257", $"/machine/unattached/device[dma{index}]");
        Channels = DeviceRegion.Create(system, "dma-chan", 8UL << shift, (a, _) => ReadChannel((int)(a >> shift)), (a, v, _) => WriteChannel((int)(a >> shift), (byte)v), owner, 1);
        Control = DeviceRegion.Create(system, "dma-cont", 8UL << shift, (a, _) => ReadControl((int)(a >> shift)), (a, v, _) => WriteControl((int)(a >> shift), (byte)v), owner, 1);
        PageLow = DeviceRegion.Create(system, "dma-page", 3, (a, _) => ReadPage((int)a + 1), (a, v, _) => WritePage((int)a + 1, (byte)v), owner, 1);
        PageHigh = DeviceRegion.Create(system, "dma-page", 1, (_, _) => ReadPage(7), (_, v, _) => WritePage(7, (byte)v), owner, 1);
    }

    /// <summary>0 or 1.</summary>
    public int Index { get; }

    /// <summary>"dma-chan".</summary>
    public MemoryRegion Channels { get; }

    /// <summary>"dma-cont".</summary>
    public MemoryRegion Control { get; }

    /// <summary>The first "dma-page" window (3 ports).</summary>
    public MemoryRegion PageLow { get; }

    /// <summary>The second "dma-page" window (1 port).</summary>
    public MemoryRegion PageHigh { get; }

    /// <summary>The channel mask bits (1 = masked).</summary>
    public byte Mask { get { lock (_lock) { return _mask; } } }

    /// <summary>The mode register of <paramref name="channel"/>.</summary>
    /// <param name="channel">0-3.</param>
    public byte Mode(int channel) { lock (_lock) { return _mode[channel & 3]; } }

    /// <summary>Maps the four windows at QEMU's ports.</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        ulong chan = Index == 0 ? 0x00UL : 0xc0UL, cont = Index == 0 ? 0x08UL : 0xd0UL, page = Index == 0 ? 0x80UL : 0x88UL;
        io.AddSubregion(chan, Channels);
        io.AddSubregion(cont, Control);
        io.AddSubregion(page + 1, PageLow);
        io.AddSubregion(page + 7, PageHigh);
    }

    /// <summary>"i8257@0x00" or "i8257@0xc0".</summary>
    public string StateName => Index == 0 ? "i8257@0x00" : "i8257@0xc0";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>Writes command, status, mask, request, the flip-flop, and per channel base, count, mode and page.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU8("command", _command);
            writer.WriteU8("status", _status);
            writer.WriteU8("mask", _mask);
            writer.WriteU8("request", _request);
            writer.WriteBool("flip_flop", _flipFlop);
            for (int ch = 0; ch < 4; ch++)
            {
                writer.WriteU16($"chan[{ch}].base", _base[ch]);
                writer.WriteU16($"chan[{ch}].count", _count[ch]);
                writer.WriteU8($"chan[{ch}].mode", _mode[ch]);
                writer.WriteU8($"chan[{ch}].page", _page[ch]);
            }
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; mask and request hold four bits, and each mode register names its own channel.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        byte command = reader.ReadU8("command");
        byte status = reader.ReadU8("status");
        byte mask = reader.ReadU8("mask", 0x0f);
        byte request = reader.ReadU8("request", 0x0f);
        bool flipFlop = reader.ReadBool("flip_flop");
        var bases = new ushort[4];
        var counts = new ushort[4];
        var modes = new byte[4];
        var pages = new byte[4];
        for (int ch = 0; ch < 4; ch++)
        {
            bases[ch] = reader.ReadU16($"chan[{ch}].base");
            counts[ch] = reader.ReadU16($"chan[{ch}].count");
            modes[ch] = reader.ReadU8($"chan[{ch}].mode");
            pages[ch] = reader.ReadU8($"chan[{ch}].page");
            if (modes[ch] != 0 && (modes[ch] & 3) != ch)
            {
                throw reader.Fail($"channel {ch} mode 0x{modes[ch]:x2} selects channel {modes[ch] & 3}");
            }
        }
        reader.EnsureEnd();
        lock (_lock)
        {
            (_command, _status, _mask, _request, _flipFlop) = (command, status, mask, request, flipFlop);
            bases.CopyTo(_base, 0);
            counts.CopyTo(_count, 0);
            modes.CopyTo(_mode, 0);
            pages.CopyTo(_page, 0);
        }
    }

    /// <summary>Master clear (also the reset state): flip-flop cleared, all channels masked.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _flipFlop = false;
            _command = _status = _request = 0;
            _mask = 0x0f;
        }
    }

    private ulong ReadChannel(int reg)
    {
        lock (_lock)
        {
            int ch = (reg >> 1) & 3;
            ushort v = (reg & 1) == 0 ? _base[ch] : _count[ch];
            byte b = (byte)(_flipFlop ? v >> 8 : v);
            _flipFlop = !_flipFlop;
            return b;
        }
    }

    private void WriteChannel(int reg, byte value)
    {
        lock (_lock)
        {
            int ch = (reg >> 1) & 3;
            ref ushort v = ref (reg & 1) == 0 ? ref _base[ch] : ref _count[ch];
            v = _flipFlop ? (ushort)((v & 0x00ff) | (value << 8)) : (ushort)((v & 0xff00) | value);
            _flipFlop = !_flipFlop;
        }
    }

    private ulong ReadControl(int reg)
    {
        lock (_lock)
        {
            switch (reg & 7)
            {
                case 0:
                    byte s = _status;
                    _status &= 0xf0; // terminal-count bits clear on read
                    return s;
                case 7:
                    return _mask;
                default:
                    return 0;
            }
        }
    }

    private void WriteControl(int reg, byte value)
    {
        lock (_lock)
        {
            switch (reg & 7)
            {
                case 0: _command = value; break;
                case 1: _request = (byte)((value & 4) != 0 ? _request | (1 << (value & 3)) : _request & ~(1 << (value & 3))); break;
                case 2: _mask = (byte)((value & 4) != 0 ? _mask | (1 << (value & 3)) : _mask & ~(1 << (value & 3))); break;
                case 3: _mode[value & 3] = value; break;
                case 4: _flipFlop = false; break;
                case 5: _flipFlop = false; _command = _status = _request = 0; _mask = 0x0f; break;
                case 6: _mask = 0; break;
                case 7: _mask = (byte)(value & 0x0f); break;
            }
        }
    }

    private ulong ReadPage(int port)
    {
        int ch = PageChannel[port];
        lock (_lock)
        {
            return ch < 0 ? 0UL : _page[ch];
        }
    }

    private void WritePage(int port, byte value)
    {
        int ch = PageChannel[port];
        lock (_lock)
        {
            if (ch >= 0)
            {
                _page[ch] = value;
            }
        }
    }
}
