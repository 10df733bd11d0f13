using Memspace.Core;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// A PCI host bridge as the guest reaches it (QEMU's <c>PCIHostState</c> plus the host device at
/// 00:00.0): the configuration address port "pci-conf-idx" at 0xcf8 and data port "pci-conf-data" at
/// 0xcfc, which reach every function on <see cref="RootBus"/> (configuration mechanism #1), and the host
/// function itself. Absent functions read all ones. Subclasses react to writes of their registers
/// (PAM, SMRAM, ...).
/// </summary>
public abstract class PciHostBridge : PciDevice
{
    /// <summary>Port of the configuration address register.</summary>
    public const ushort ConfigAddressPort = 0xcf8;

    /// <summary>Port of the configuration data window.</summary>
    public const ushort ConfigDataPort = 0xcfc;

    private uint _configAddress;

    /// <summary>Creates the bridge, its bus (with itself at 00:00.0) and its two I/O regions (not yet mapped).</summary>
    /// <param name="machine">The machine it belongs to.</param>
    /// <param name="typeName">QEMU's type name of the host function.</param>
    /// <param name="deviceId">PCI device id (vendor Intel).</param>
    /// <param name="pciMemory">The PCI memory container memory BARs map into.</param>
    protected PciHostBridge(Machine machine, string typeName, ushort deviceId, MemoryRegion pciMemory)
        : base(machine, typeName, 0, PciIds.VendorIntel, deviceId, 0x060000)
    {
        var owner = MemoryRegionOwner.Device(typeName, "/machine/" + typeName);
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
        RootBus = new PciBus(pciMemory, machine.SystemIo);
        RootBus.Attach(this);
    }

    /// <summary>The bus the bridge leads to (bus 0).</summary>
    public PciBus RootBus { get; }

    /// <summary>"pci-conf-idx", 4 bytes at port 0xcf8.</summary>
    public MemoryRegion ConfigAddressRegion { get; }

    /// <summary>"pci-conf-data", 4 bytes at port 0xcfc.</summary>
    public MemoryRegion ConfigDataRegion { get; }

    /// <summary>The value of the configuration address register.</summary>
    public uint ConfigAddress => _configAddress;

    /// <summary>Maps the configuration ports into the I/O space.</summary>
    /// <param name="io">The machine's "io" region.</param>
    public void MapConfigPorts(MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(ConfigAddressPort, ConfigAddressRegion);
        io.AddSubregion(ConfigDataPort, ConfigDataRegion);
    }

    /// <summary>Saves the configuration address register ("config_address") after the configuration space.</summary>
    /// <param name="writer">Where the fields go.</param>
    protected override void SaveFunctionState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteU32("config_address", _configAddress);
    }

    /// <inheritdoc/>
    protected override Action? ReadFunctionState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        uint address = reader.ReadU32("config_address");
        return () => _configAddress = address;
    }

    private ulong DataRead(uint port, int size)
    {
        uint a = _configAddress;
        if ((a & 0x8000_0000) == 0)
        {
            return size == 4 ? 0xffff_ffffUL : (1UL << (8 * size)) - 1;
        }
        return RootBus.ReadConfig((int)((a >> 16) & 0xff), (int)((a >> 8) & 0xff), (int)((a & 0xfc) | (port & 3)), size);
    }

    private void DataWrite(uint port, uint value, int size)
    {
        uint a = _configAddress;
        if ((a & 0x8000_0000) != 0)
        {
            RootBus.WriteConfig((int)((a >> 16) & 0xff), (int)((a >> 8) & 0xff), (int)((a & 0xfc) | (port & 3)), value, size);
        }
    }
}
