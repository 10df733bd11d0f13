using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The PIIX3 IDE function at 00:01.1 (QEMU's <c>piix3-ide</c>, 8086:7010) with no drives: the two legacy
/// channels at 0x1f0/0x3f6 and 0x170/0x376 (always decoded, as QEMU does) and BAR 4, the 16-byte
/// bus-master DMA block "piix-bmdma-container" with per channel "piix-bmdma" (command and status) and
/// "bmdma" (the PRD table address). Command bit 0 starts and stops a transfer, which with no drive ends
/// at once; status bits 1-2 are write-1-to-clear and 5-6 (drive DMA capable) read/write.
/// </summary>
public sealed class PiixIde : PciDevice
{
    private readonly Lock _lock = new();
    private readonly byte[] _command = new byte[2], _status = new byte[2];
    private readonly uint[] _prd = new uint[2];

    /// <summary>Creates the function, its channels and its DMA block.</summary>
    /// <param name="machine">The machine.</param>
    public PiixIde(Machine machine)
        : base(machine, "piix3-ide", 0x09, PciIds.VendorIntel, PciIds.Piix3Ide, 0x010180)
    {
        MemorySystem s = machine.System;
        Primary = new IdeChannel(s, primary: true, Owner);
        Secondary = new IdeChannel(s, primary: false, Owner);
        Bmdma = MemoryRegion.CreateContainer(s, "piix-bmdma-container", 16, Owner);
        for (int ch = 0; ch < 2; ch++)
        {
            int c = ch;
            Bmdma.AddSubregion((ulong)(8 * ch), DeviceRegion.Create(s, "piix-bmdma", 4, (a, _) => ReadCommandStatus(c, (int)a), (a, v, _) => WriteCommandStatus(c, (int)a, (byte)v), Owner, 1));
            Bmdma.AddSubregion((ulong)((8 * ch) + 4), DeviceRegion.Create(s, "bmdma", 4, (a, sz) => { lock (_lock) { return DeviceRegion.ReadLe(BitConverter.GetBytes(_prd[c]), a, sz); } },
                (a, v, sz) => WritePrd(c, a, v, sz), Owner));
        }
        RegisterBar(4, Bmdma, io: true);
        ConfigBytes[0x09] = 0x80;
    }

    /// <summary>The primary channel.</summary>
    public IdeChannel Primary { get; }

    /// <summary>The secondary channel.</summary>
    public IdeChannel Secondary { get; }

    /// <summary>"piix-bmdma-container", BAR 4.</summary>
    public MemoryRegion Bmdma { get; }

    /// <summary>Bus-master status of channel <paramref name="channel"/>.</summary>
    /// <param name="channel">0 or 1.</param>
    public byte BmdmaStatus(int channel) { lock (_lock) { return _status[channel & 1]; } }

    /// <summary>PRD table address of channel <paramref name="channel"/>.</summary>
    /// <param name="channel">0 or 1.</param>
    public uint PrdAddress(int channel) { lock (_lock) { return _prd[channel & 1]; } }

    /// <summary>Maps both legacy channels.</summary>
    /// <param name="io">The "io" root.</param>
    public void MapLegacyPorts(MemoryRegion io)
    {
        Secondary.Map(io);
        Primary.Map(io);
    }

    /// <summary>After the configuration space: both channels' task files and the bus-master command, status and PRD address per channel.</summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Primary.SaveState(writer, "ide0.");
        Secondary.SaveState(writer, "ide1.");
        lock (_lock)
        {
            for (int ch = 0; ch < 2; ch++)
            {
                writer.WriteU8($"bmdma{ch}.cmd", _command[ch]);
                writer.WriteU8($"bmdma{ch}.status", _status[ch]);
                writer.WriteU32($"bmdma{ch}.addr", _prd[ch]);
            }
        }
    }

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Action primary = Primary.ReadState(reader, "ide0.");
        Action secondary = Secondary.ReadState(reader, "ide1.");
        var command = new byte[2];
        var status = new byte[2];
        var prd = new uint[2];
        for (int ch = 0; ch < 2; ch++)
        {
            command[ch] = reader.ReadU8($"bmdma{ch}.cmd");
            status[ch] = reader.ReadU8($"bmdma{ch}.status");
            prd[ch] = reader.ReadU32($"bmdma{ch}.addr");
            if ((command[ch] & ~0x09) != 0 || (status[ch] & ~0x66) != 0 || (prd[ch] & 3) != 0)
            {
                throw reader.Fail($"bus-master channel {ch}: command 0x{command[ch]:x2}, status 0x{status[ch]:x2}, PRD 0x{prd[ch]:x8} hold bits the registers cannot");
            }
        }
        return () =>
        {
            primary();
            secondary();
            lock (_lock)
            {
                command.CopyTo(_command, 0);
                status.CopyTo(_status, 0);
                prd.CopyTo(_prd, 0);
            }
        };
    }

    private ulong ReadCommandStatus(int ch, int reg)
    {
        lock (_lock)
        {
            return reg switch { 0 => _command[ch], 2 => _status[ch], _ => 0 };
        }
    }

    private void WriteCommandStatus(int ch, int reg, byte value)
    {
        lock (_lock)
        {
            if (reg == 0)
            {
                _command[ch] = (byte)(value & 0x09);
                // No drive: a started transfer has nothing to move, so it is not active.
                _status[ch] &= 0xfe;
            }
            else if (reg == 2)
            {
                _status[ch] = (byte)((_status[ch] & ~(value & 0x06) & ~0x60) | (value & 0x60));
            }
        }
    }

    private void WritePrd(int ch, ulong offset, ulong value, uint size)
    {
        lock (_lock)
        {
            byte[] b = BitConverter.GetBytes(_prd[ch]);
            DeviceRegion.WriteLe(b, [], offset, value, size);
            _prd[ch] = BitConverter.ToUInt32(b) & ~3u;
        }
    }
}
