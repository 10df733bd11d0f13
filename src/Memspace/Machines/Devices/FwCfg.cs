using System.Buffers.Binary;
using System.Text;
using Memspace.Core;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// QEMU's firmware configuration device on I/O ports (<c>fw_cfg_io</c>): "fwcfg" at 0x510 (a 16-bit
/// write to 0x510 selects an item; 0x511 reads its bytes in order) and "fwcfg.dma" at 0x514 (the guest
/// writes the big-endian address of a <c>FWCfgDmaAccess</c> descriptor, high half at 0x514 and low half
/// at 0x518, or all 64 bits at 0x514; the device then selects, reads, skips or refuses writes through
/// the guest memory it was given and writes the descriptor's control word back, 0 or the error bit).
/// Items are numbered keys; files get keys from 0x20 in name order and are listed in the directory
/// item 0x19. Reading past an item's end returns 0.
/// </summary>
public sealed class FwCfg : IDeviceState
{
    /// <summary>"QEMU".</summary>
    public const ushort KeySignature = 0x00;

    /// <summary>Interface id: bit 0 traditional, bit 1 DMA.</summary>
    public const ushort KeyId = 0x01;

    /// <summary>RAM size (u64).</summary>
    public const ushort KeyRamSize = 0x03;

    /// <summary>No graphics (u16).</summary>
    public const ushort KeyNographic = 0x04;

    /// <summary>Boot CPUs (u16).</summary>
    public const ushort KeyNbCpus = 0x05;

    /// <summary>NUMA table.</summary>
    public const ushort KeyNuma = 0x0d;

    /// <summary>Boot menu (u16).</summary>
    public const ushort KeyBootMenu = 0x0e;

    /// <summary>Possible CPUs (u16).</summary>
    public const ushort KeyMaxCpus = 0x0f;

    /// <summary>The file directory.</summary>
    public const ushort KeyFileDir = 0x19;

    /// <summary>Key of the first file.</summary>
    public const ushort FirstFileKey = 0x20;

    /// <summary>Legacy ACPI tables (architecture-specific key).</summary>
    public const ushort KeyAcpiTables = 0x8000;

    /// <summary>Legacy SMBIOS entries.</summary>
    public const ushort KeySmbiosEntries = 0x8001;

    /// <summary>IRQ0 override (u32).</summary>
    public const ushort KeyIrq0Override = 0x8002;

    /// <summary>The DMA signature "QEMU CFG".</summary>
    public const ulong DmaSignature = 0x51454d5520434647;

    private const uint DmaError = 1, DmaRead = 2, DmaSkip = 4, DmaSelect = 8, DmaWrite = 0x10;
    private readonly Lock _lock = new();
    private readonly Dictionary<ushort, byte[]> _items = [];
    private readonly SortedDictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<ushort, string> _fileKeys = [];
    private IGuestMemory? _dma;
    private ushort _selector;
    private int _offset;
    private uint _dmaHigh;
    private long _dmaTransfers;

    /// <summary>Creates the device with the signature and id items.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="dmaEnabled">Offer the DMA interface (QEMU's <c>dma_enabled</c>, on by default).</param>
    public FwCfg(MemorySystem system, bool dmaEnabled = true)
    {
        DmaEnabled = dmaEnabled;
        var owner = MemoryRegionOwner.Device("fw_cfg_io", "/machine/fw_cfg");
        Region = DeviceRegion.Create(system, "fwcfg", 2, (a, s) => ReadComb(a, s), (a, v, s) => WriteComb(a, v, s), owner, 2);
        DmaRegion = DeviceRegion.Create(system, "fwcfg.dma", 8, (a, s) => ReadDmaPort(a, s), (a, v, s) => WriteDmaPort(a, v, s), owner, 8);
        SetItem(KeySignature, "QEMU"u8.ToArray());
        SetItem(KeyId, BitConverter.GetBytes(dmaEnabled ? 3u : 1u));
        SetItem(KeyFileDir, FileDirectory());
    }

    /// <summary>"fwcfg" (selector and data, 2 ports).</summary>
    public MemoryRegion Region { get; }

    /// <summary>"fwcfg.dma" (8 ports).</summary>
    public MemoryRegion DmaRegion { get; }

    /// <summary>Whether the DMA interface is offered.</summary>
    public bool DmaEnabled { get; }

    /// <summary>The item selected now.</summary>
    public ushort Selector { get { lock (_lock) { return _selector; } } }

    /// <summary>DMA descriptors processed.</summary>
    public long DmaTransfers => Interlocked.Read(ref _dmaTransfers);

    /// <summary>The files, by name.</summary>
    public IReadOnlyCollection<string> FileNames { get { lock (_lock) { return [.. _files.Keys]; } } }

    /// <summary>Where DMA reads and writes guest memory (the machine's memory address space).</summary>
    /// <param name="memory">Guest memory.</param>
    public void AttachDma(IGuestMemory memory) { lock (_lock) { _dma = memory; } }

    /// <summary>Maps the ports at 0x510 and 0x514.</summary>
    /// <param name="io">The "io" root.</param>
    public void Map(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(0x510, Region);
        if (DmaEnabled)
        {
            io.AddSubregion(0x514, DmaRegion);
        }
    }

    /// <summary>Sets a numbered item.</summary>
    /// <param name="key">Key below 0x20 or from 0x8000.</param>
    /// <param name="data">Its bytes.</param>
    public void SetItem(ushort key, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        lock (_lock)
        {
            _items[key] = data;
        }
    }

    /// <summary>Adds or replaces a file (keys are renumbered in name order, as QEMU does).</summary>
    /// <param name="name">Name, at most 55 bytes.</param>
    /// <param name="data">Its bytes.</param>
    public void SetFile(string name, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        if (Encoding.ASCII.GetByteCount(name) > 55)
        {
            throw new ArgumentException($"fw_cfg file name '{name}' is longer than 55 bytes", nameof(name));
        }
        lock (_lock)
        {
            _files[name] = data;
            _fileKeys.Clear();
            ushort key = FirstFileKey;
            foreach (string n in _files.Keys)
            {
                _fileKeys[key++] = n;
            }
            _items[KeyFileDir] = FileDirectory();
        }
    }

    /// <summary>The bytes of file <paramref name="name"/>, or null.</summary>
    /// <param name="name">File name.</param>
    public byte[]? File(string name) { lock (_lock) { return _files.TryGetValue(name, out byte[]? d) ? d : null; } }

    /// <summary>The key of file <paramref name="name"/>, or null.</summary>
    /// <param name="name">File name.</param>
    public ushort? FileKey(string name)
    {
        lock (_lock)
        {
            foreach ((ushort k, string n) in _fileKeys)
            {
                if (n == name)
                {
                    return k;
                }
            }
            return null;
        }
    }

    /// <summary>"fw_cfg@0x510".</summary>
    public string StateName => "fw_cfg@0x510";

    /// <inheritdoc/>
    public int StateVersion => 1;

    /// <summary>
    /// Writes the selected item, the read offset in it and the DMA address's high half waiting for its
    /// low half. The items and files are not saved: an identically built machine has the same ones.
    /// </summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        lock (_lock)
        {
            writer.WriteU16("cur_entry", _selector);
            writer.WriteU32("cur_offset", (uint)_offset);
            writer.WriteU32("dma_addr_high", _dmaHigh);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; the offset may not pass the end of this machine's item.</summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        reader.EnsureVersion(StateVersion);
        ushort selector = reader.ReadU16("cur_entry");
        uint offset = reader.ReadU32("cur_offset");
        uint high = reader.ReadU32("dma_addr_high");
        reader.EnsureEnd();
        lock (_lock)
        {
            ushort old = _selector;
            _selector = selector;
            int length = Current()?.Length ?? 0;
            if (offset > (uint)length)
            {
                _selector = old;
                throw reader.Fail($"field 'cur_offset' is {offset}, past the end of item 0x{selector:x4} ({length} bytes on this machine)");
            }
            _offset = (int)offset;
            _dmaHigh = high;
        }
    }

    private byte[] FileDirectory()
    {
        var dir = new byte[4 + (64 * _files.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(dir, (uint)_files.Count);
        int i = 0;
        foreach ((string name, byte[] data) in _files)
        {
            Span<byte> e = dir.AsSpan(4 + (64 * i));
            BinaryPrimitives.WriteUInt32BigEndian(e, (uint)data.Length);
            BinaryPrimitives.WriteUInt16BigEndian(e[4..], (ushort)(FirstFileKey + i));
            Encoding.ASCII.GetBytes(name, e[8..]);
            i++;
        }
        return dir;
    }

    private byte[]? Current()
    {
        ushort key = (ushort)(_selector & 0xbfff); // bit 14 (write) is ignored
        if (key >= FirstFileKey && key < 0x8000)
        {
            return _fileKeys.TryGetValue(key, out string? name) ? _files[name] : null;
        }
        return _items.TryGetValue(key, out byte[]? d) ? d : null;
    }

    private void Select(ushort key)
    {
        _selector = key;
        _offset = 0;
    }

    private ulong ReadComb(ulong offset, uint size)
    {
        lock (_lock)
        {
            if (offset == 0 && size == 2)
            {
                return 0; // the selector reads nothing back
            }
            ulong value = 0;
            byte[]? item = Current();
            for (uint i = 0; i < size; i++)
            {
                byte b = item is not null && _offset < item.Length ? item[_offset] : (byte)0;
                if (item is not null && _offset < item.Length)
                {
                    _offset++;
                }
                value = (value << 8) | b;
            }
            return value;
        }
    }

    private void WriteComb(ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            if (offset == 0 && size == 2)
            {
                Select((ushort)value);
            }
            // Data writes are ignored (QEMU 7.2 has no writable items on this interface).
        }
    }

    private ulong ReadDmaPort(ulong offset, uint size)
    {
        Span<byte> signature = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(signature, DmaSignature);
        return DeviceRegion.ReadLe(signature, offset, size);
    }

    private void WriteDmaPort(ulong offset, ulong value, uint size)
    {
        // The port is big-endian: the value arrives byte-swapped relative to the little-endian region.
        if (offset == 0 && size == 8)
        {
            RunDma(BinaryPrimitives.ReverseEndianness(value));
        }
        else if (offset == 0 && size == 4)
        {
            lock (_lock)
            {
                _dmaHigh = BinaryPrimitives.ReverseEndianness((uint)value);
            }
        }
        else if (offset == 4 && size == 4)
        {
            ulong address;
            lock (_lock)
            {
                address = ((ulong)_dmaHigh << 32) | BinaryPrimitives.ReverseEndianness((uint)value);
                _dmaHigh = 0;
            }
            RunDma(address);
        }
    }

    private void RunDma(ulong descriptor)
    {
        IGuestMemory? mem;
        lock (_lock)
        {
            mem = _dma;
        }
        if (mem is null)
        {
            return;
        }
        Interlocked.Increment(ref _dmaTransfers);
        Span<byte> d = stackalloc byte[16];
        if (mem.Read(descriptor, d, MemTxAttrs.UnspecifiedAttrs) != MemTxResult.Ok)
        {
            return;
        }
        uint control = BinaryPrimitives.ReadUInt32BigEndian(d);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(d[4..]);
        ulong address = BinaryPrimitives.ReadUInt64BigEndian(d[8..]);
        bool error = false;
        lock (_lock)
        {
            if ((control & DmaSelect) != 0)
            {
                Select((ushort)(control >> 16));
            }
            if ((control & DmaWrite) != 0)
            {
                error = true; // no writable items
            }
            else if ((control & (DmaRead | DmaSkip)) != 0)
            {
                byte[]? item = Current();
                var chunk = new byte[length];
                int available = item is null ? 0 : Math.Max(0, item.Length - _offset);
                int n = (int)Math.Min(length, (uint)available);
                if (n > 0)
                {
                    item.AsSpan(_offset, n).CopyTo(chunk);
                }
                _offset += n;
                if ((control & DmaRead) != 0 && length > 0 && mem.Write(address, chunk, MemTxAttrs.UnspecifiedAttrs) != MemTxResult.Ok)
                {
                    error = true;
                }
            }
        }
        Span<byte> result = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(result, error ? DmaError : 0);
        mem.Write(descriptor, result, MemTxAttrs.UnspecifiedAttrs);
    }
}
