using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The AHCI host bus adapter registers ("ahci", 4 KiB, QEMU's <c>AHCIState</c>) with six ports and no
/// drives: generic host control (CAP, GHC with HBA reset and AHCI enable, IS write-1-to-clear, PI = 0x3f,
/// VS = 1.0) and per port (0x100 + 0x80·n) the command list and FIS base, interrupt status
/// (write-1-to-clear) and enable, command, task file data (0x7f: no device), signature (all ones), SATA
/// status (0: no device detected), control, error (write-1-to-clear) and command issue. The index/data
/// pair "ahci-idp" reaches the same registers through I/O ports.
/// </summary>
public sealed class AhciHba
{
    /// <summary>Number of ports.</summary>
    public const int Ports = 6;

    private readonly Lock _lock = new();
    private readonly uint[] _port = new uint[Ports * 32];
    private uint _ghc, _is, _index;

    /// <summary>Creates the MMIO and index/data regions.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">The AHCI function.</param>
    public AhciHba(MemorySystem system, MemoryRegionOwner? owner = null)
    {
        Mmio = DeviceRegion.Create(system, "ahci", 0x1000, (a, s) => ReadSized(a, s), (a, v, s) => WriteSized(a, v, s), owner);
        IndexData = DeviceRegion.Create(system, "ahci-idp", 0x20, (a, s) => ReadIdp(a, s), (a, v, s) => WriteIdp(a, v, s), owner);
        Reset();
    }

    /// <summary>"ahci" (BAR 5).</summary>
    public MemoryRegion Mmio { get; }

    /// <summary>"ahci-idp" (BAR 4).</summary>
    public MemoryRegion IndexData { get; }

    /// <summary>Host capabilities: 64-bit, NCQ, AHCI only, 32 command slots, six ports.</summary>
    public static uint Capabilities => (1u << 31) | (1u << 30) | (1u << 18) | (31u << 8) | (Ports - 1);

    /// <summary>Global host control.</summary>
    public uint GlobalHostControl { get { lock (_lock) { return _ghc; } } }

    /// <summary>Reads a 32-bit register at <paramref name="offset"/>.</summary>
    /// <param name="offset">Register offset.</param>
    public uint ReadRegister(ulong offset)
    {
        lock (_lock)
        {
            switch (offset)
            {
                case 0x00: return Capabilities;
                case 0x04: return _ghc;
                case 0x08: return _is;
                case 0x0c: return (1u << Ports) - 1;
                case 0x10: return 0x0001_0000;
                case >= 0x100 and < 0x100 + (0x80 * Ports):
                    int p = (int)((offset - 0x100) / 0x80), r = (int)((offset - 0x100) % 0x80) / 4;
                    return r switch
                    {
                        8 => 0x7f,              // PxTFD
                        9 => 0xffff_ffff,       // PxSIG
                        10 => 0,                // PxSSTS: no device
                        < 16 => _port[(p * 32) + r],
                        _ => 0,
                    };
                default: return 0;
            }
        }
    }

    /// <summary>Writes a 32-bit register at <paramref name="offset"/>.</summary>
    /// <param name="offset">Register offset.</param>
    /// <param name="value">Value.</param>
    public void WriteRegister(ulong offset, uint value)
    {
        lock (_lock)
        {
            switch (offset)
            {
                case 0x04:
                    if ((value & 1) != 0)
                    {
                        ResetLocked();
                        return;
                    }
                    _ghc = (1u << 31) | (value & 2);
                    break;
                case 0x08: _is &= ~value; break;
                case >= 0x100 and < 0x100 + (0x80 * Ports):
                    int p = (int)((offset - 0x100) / 0x80), r = (int)((offset - 0x100) % 0x80) / 4;
                    ref uint reg = ref _port[(p * 32) + r];
                    switch (r)
                    {
                        case 4 or 12: reg &= ~value; break;                 // PxIS, PxSERR
                        case 0 or 1 or 2 or 3 or 5 or 11 or 13: reg = value; break;
                        case 6: reg = value & ~0xc000u; break;             // PxCMD: CR/FR stay clear with no device
                        case 14: reg = 0; break;                           // PxCI: nothing to run
                    }
                    break;
            }
        }
    }

    /// <summary>HBA reset.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            ResetLocked();
        }
    }

    /// <summary>Writes GHC, IS, the index register and the ports' registers ("ahci.ghc", "ahci.is", "ahci.idp_index", "ahci.ports", 32 little-endian words per port).</summary>
    /// <param name="writer">Where the fields go.</param>
    internal void SaveState(DeviceStateWriter writer)
    {
        lock (_lock)
        {
            writer.WriteU32("ahci.ghc", _ghc);
            writer.WriteU32("ahci.is", _is);
            writer.WriteU32("ahci.idp_index", _index);
            var ports = new byte[_port.Length * 4];
            for (int i = 0; i < _port.Length; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(ports.AsSpan(4 * i), _port[i]);
            }
            writer.WriteBytes("ahci.ports", ports);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote, refusing values the registers cannot hold; returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    internal Action ReadState(DeviceStateReader reader)
    {
        uint ghc = reader.ReadU32("ahci.ghc");
        uint interrupts = reader.ReadU32("ahci.is");
        uint index = reader.ReadU32("ahci.idp_index");
        var ports = new byte[_port.Length * 4];
        reader.ReadBytes("ahci.ports", ports);
        if ((ghc & ~((1u << 31) | 2u)) != 0 || (ghc & (1u << 31)) == 0)
        {
            throw reader.Fail($"field 'ahci.ghc' is 0x{ghc:x8}; only AE (bit 31, always set) and IE (bit 1) are kept");
        }
        if ((index & ~0xffcu) != 0)
        {
            throw reader.Fail($"field 'ahci.idp_index' is 0x{index:x}; the index register holds a dword offset below 0x1000");
        }
        var words = new uint[_port.Length];
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(ports.AsSpan(4 * i));
            int r = i % 32;
            if ((r is 7 or 8 or 9 or 10 or 14 or >= 15) && words[i] != 0)
            {
                throw reader.Fail($"port {i / 32} register {r} is 0x{words[i]:x8}; with no drive it always reads 0 here");
            }
            if (r == 6 && (words[i] & 0xc000) != 0)
            {
                throw reader.Fail($"port {i / 32} PxCMD 0x{words[i]:x8} has CR/FR set, which stay clear with no device");
            }
        }
        return () =>
        {
            lock (_lock)
            {
                _ghc = ghc;
                _is = interrupts;
                _index = index;
                words.CopyTo(_port, 0);
            }
        };
    }

    private void ResetLocked()
    {
        _ghc = 1u << 31;
        _is = 0;
        Array.Clear(_port);
    }

    private ulong ReadSized(ulong offset, uint size)
    {
        uint v = ReadRegister(offset & ~3UL);
        return DeviceRegion.ReadLe(BitConverter.GetBytes(v), offset & 3, size);
    }

    private void WriteSized(ulong offset, ulong value, uint size)
    {
        if (size == 4 && (offset & 3) == 0)
        {
            WriteRegister(offset, (uint)value);
        }
        else
        {
            byte[] b = BitConverter.GetBytes(ReadRegister(offset & ~3UL));
            DeviceRegion.WriteLe(b, [], offset & 3, value, size);
            WriteRegister(offset & ~3UL, BitConverter.ToUInt32(b));
        }
    }

    private ulong ReadIdp(ulong offset, uint size)
    {
        uint index;
        lock (_lock)
        {
            index = _index;
        }
        return offset switch
        {
            0 => DeviceRegion.ReadLe(BitConverter.GetBytes(index), 0, size),
            4 => ReadSized(index & 0xffc, size),
            _ => 0,
        };
    }

    private void WriteIdp(ulong offset, ulong value, uint size)
    {
        if (offset == 0)
        {
            lock (_lock)
            {
                _index = (uint)value & 0xffc;
            }
        }
        else if (offset == 4)
        {
            uint index;
            lock (_lock)
            {
                index = _index;
            }
            WriteSized(index, value, size);
        }
    }
}
