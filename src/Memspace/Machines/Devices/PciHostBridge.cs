using System.Buffers.Binary;
using Memspace.Core;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// A PCI host bridge as the guest reaches it (QEMU's <c>PCIHostState</c> plus the host device at
/// 00:00.0): the configuration address port "pci-conf-idx" at 0xcf8 and data port "pci-conf-data" at
/// 0xcfc, and the 256-byte configuration space of device 00:00.0 with QEMU's write masks. Other
/// devices on the bus are absent: their configuration reads return all ones. Subclasses react to
/// writes of their registers (PAM, SMRAM, ...).
/// </summary>
public abstract class PciHostBridge
{
    /// <summary>Port of the configuration address register.</summary>
    public const ushort ConfigAddressPort = 0xcf8;

    /// <summary>Port of the configuration data window.</summary>
    public const ushort ConfigDataPort = 0xcfc;

    private readonly byte[] _config = new byte[256];
    private readonly byte[] _wmask = new byte[256];
    private uint _configAddress;

    /// <summary>Creates the bridge and its two I/O regions (not yet mapped).</summary>
    /// <param name="machine">The machine it belongs to.</param>
    /// <param name="vendorId">PCI vendor id.</param>
    /// <param name="deviceId">PCI device id.</param>
    protected PciHostBridge(Machine machine, ushort vendorId, ushort deviceId)
    {
        Machine = machine;
        VendorId = vendorId;
        DeviceId = deviceId;
        var owner = MemoryRegionOwner.Device(DeviceTypeName, "/machine/" + DeviceTypeName);
        ConfigAddressRegion = MemoryRegion.CreateIo(machine.System, "pci-conf-idx", 4, new MemoryRegionOps
        {
            Read = (_, _) => _configAddress,
            Write = (addr, value, size) =>
            {
                if (addr == 0 && size == 4)
                {
                    _configAddress = (uint)value;
                }
            },
            Endianness = DeviceEndianness.Little,
        }, owner);
        ConfigDataRegion = MemoryRegion.CreateIo(machine.System, "pci-conf-data", 4, new MemoryRegionOps
        {
            Read = (addr, size) => DataRead((uint)addr, (int)size),
            Write = (addr, value, size) => DataWrite((uint)addr, (uint)value, (int)size),
            Endianness = DeviceEndianness.Little,
        }, owner);
        InitConfig();
    }

    /// <summary>The machine.</summary>
    public Machine Machine { get; }

    /// <summary>PCI vendor id of 00:00.0.</summary>
    public ushort VendorId { get; }

    /// <summary>PCI device id of 00:00.0.</summary>
    public ushort DeviceId { get; }

    /// <summary>QOM-style type name, used for region owners.</summary>
    public abstract string DeviceTypeName { get; }

    /// <summary>"pci-conf-idx", 4 bytes at port 0xcf8.</summary>
    public MemoryRegion ConfigAddressRegion { get; }

    /// <summary>"pci-conf-data", 4 bytes at port 0xcfc.</summary>
    public MemoryRegion ConfigDataRegion { get; }

    /// <summary>A copy of 00:00.0's configuration space.</summary>
    public byte[] Config => (byte[])_config.Clone();

    /// <summary>Maps the configuration ports into the I/O space.</summary>
    /// <param name="io">The machine's "io" region.</param>
    public void MapConfigPorts(MemoryRegion io)
    {
        io.AddSubregion(ConfigAddressPort, ConfigAddressRegion);
        io.AddSubregion(ConfigDataPort, ConfigDataRegion);
    }

    /// <summary>Reads 00:00.0's configuration space (little-endian, 1, 2 or 4 bytes).</summary>
    /// <param name="register">Byte offset.</param>
    /// <param name="length">1, 2 or 4.</param>
    public uint ReadConfig(int register, int length)
    {
        uint value = 0;
        for (int i = 0; i < length && register + i < 256; i++)
        {
            value |= (uint)_config[register + i] << (8 * i);
        }
        return value;
    }

    /// <summary>
    /// Writes 00:00.0's configuration space as a guest would (QEMU's <c>pci_default_write_config</c>
    /// with the register's write mask), then lets the bridge react (<see cref="ConfigWritten"/>).
    /// </summary>
    /// <param name="register">Byte offset.</param>
    /// <param name="value">Value, little-endian.</param>
    /// <param name="length">1, 2 or 4.</param>
    public void WriteConfig(int register, uint value, int length)
    {
        if (register < 0 || length is not (1 or 2 or 4) || register + length > 256)
        {
            return;
        }
        for (int i = 0; i < length; i++)
        {
            byte b = (byte)(value >> (8 * i));
            int r = register + i;
            _config[r] = (byte)((_config[r] & ~_wmask[r]) | (b & _wmask[r]));
        }
        ConfigWritten(register, length);
    }

    /// <summary>Puts the registers back to their reset values and updates the mappings.</summary>
    public abstract void Reset();

    /// <summary>Called after a guest configuration write.</summary>
    /// <param name="register">First byte written.</param>
    /// <param name="length">Bytes written.</param>
    protected abstract void ConfigWritten(int register, int length);

    /// <summary>Raw access to the configuration space for the subclass's registers.</summary>
    protected Span<byte> ConfigBytes => _config;

    /// <summary>Raw access to the write masks.</summary>
    protected Span<byte> WriteMask => _wmask;

    /// <summary>Whether a write of <paramref name="length"/> bytes at <paramref name="register"/> touched [<paramref name="start"/>, +<paramref name="size"/>).</summary>
    protected static bool Overlaps(int register, int length, int start, int size)
        => register < start + size && start < register + length;

    /// <summary>Records a register-driven change in the machine's timeline.</summary>
    /// <param name="text">What changed.</param>
    protected void Trace(string text) => Machine.Trace(Tracing.ChainStructure.Device, DeviceTypeName, text);

    /// <summary>Enables or disables a region if its state differs, and records why.</summary>
    /// <param name="mr">The region.</param>
    /// <param name="enabled">The wanted state.</param>
    /// <param name="why">The register values that ask for it.</param>
    protected void SetEnabled(MemoryRegion mr, bool enabled, string why)
    {
        ArgumentNullException.ThrowIfNull(mr);
        if (mr.Enabled != enabled)
        {
            mr.SetEnabled(enabled);
            Trace($"{why}: '{mr.Name}' {(enabled ? "enabled" : "disabled")}");
        }
    }

    private void InitConfig()
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_config, VendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(2), DeviceId);
        _config[0x0b] = 0x06; // class: bridge
        _config[0x0a] = 0x00; // subclass: host bridge
        _wmask[0x04] = 0xff; // command
        _wmask[0x05] = 0x07;
        _wmask.AsSpan(0x40).Fill(0xff); // device-specific registers, as pci_init_wmask
    }

    private (bool Ours, int Register) Decode(uint port)
    {
        uint a = _configAddress;
        if ((a & 0x8000_0000) == 0)
        {
            return (false, 0);
        }
        uint bus = (a >> 16) & 0xff, devfn = (a >> 8) & 0xff;
        return (bus == 0 && devfn == 0, (int)((a & 0xfc) | (port & 3)));
    }

    private ulong DataRead(uint port, int size)
    {
        (bool ours, int reg) = Decode(port);
        if (!ours)
        {
            return size == 4 ? 0xffff_ffffUL : (1UL << (8 * size)) - 1;
        }
        return ReadConfig(reg, size);
    }

    private void DataWrite(uint port, uint value, int size)
    {
        (bool ours, int reg) = Decode(port);
        if (ours)
        {
            WriteConfig(reg, value, size);
        }
    }
}
