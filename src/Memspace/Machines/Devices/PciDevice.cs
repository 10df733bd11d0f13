using System.Buffers.Binary;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// A PCI function as QEMU 7.2 models it (<c>PCIDevice</c>): a configuration space with a write mask and a
/// write-1-to-clear mask per byte (<c>pci_init_wmask</c>, <c>pci_init_w1cmask</c>), the subsystem id
/// 1af4:1100 QEMU gives every function, base address registers that map their regions when the command
/// register enables decoding (<c>pci_update_mappings</c>), and a bus-master address space whose
/// "bus master" alias of system memory the command register's master bit enables
/// (<c>pci_init_bus_master</c>).
/// Its saved state is the configuration space (QEMU's <c>vmstate_pci_device</c>) and what the function
/// adds; loading it refuses read-only bytes that differ and re-applies BARs, bus mastering and the
/// function's register effects.
/// </summary>
public class PciDevice : IDeviceState
{
    private readonly byte[] _config;
    private readonly byte[] _wmask;
    private readonly byte[] _w1cmask;
    private readonly PciBar?[] _bars = new PciBar?[7];

    /// <summary>Creates the function's configuration space and bus-master address space.</summary>
    /// <param name="machine">The machine.</param>
    /// <param name="typeName">QEMU's type name ("ICH9-LPC", "piix3-ide", ...), also the bus-master address space's name.</param>
    /// <param name="devfn">Device and function number (device &lt;&lt; 3 | function).</param>
    /// <param name="vendorId">Vendor id.</param>
    /// <param name="deviceId">Device id.</param>
    /// <param name="classCode">Class code (class &lt;&lt; 16 | subclass &lt;&lt; 8 | programming interface).</param>
    /// <param name="revision">Revision id.</param>
    /// <param name="multiFunction">Whether the header type announces more functions.</param>
    /// <param name="configSize">256, or 4096 for PCI Express functions.</param>
    protected PciDevice(Machine machine, string typeName, int devfn, ushort vendorId, ushort deviceId, uint classCode,
        byte revision = 0, bool multiFunction = false, int configSize = 256)
    {
        ArgumentNullException.ThrowIfNull(machine);
        Machine = machine;
        DeviceTypeName = typeName;
        Devfn = devfn;
        VendorId = vendorId;
        DeviceId = deviceId;
        _config = new byte[configSize];
        _wmask = new byte[configSize];
        _w1cmask = new byte[configSize];
        BinaryPrimitives.WriteUInt16LittleEndian(_config, vendorId);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(2), deviceId);
        _config[0x08] = revision;
        _config[0x09] = (byte)classCode;
        _config[0x0a] = (byte)(classCode >> 8);
        _config[0x0b] = (byte)(classCode >> 16);
        _config[0x0e] = (byte)(multiFunction ? 0x80 : 0);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciIds.SubsystemVendorId), PciIds.SubsystemVendorQemu);
        BinaryPrimitives.WriteUInt16LittleEndian(_config.AsSpan(PciIds.SubsystemId), PciIds.SubsystemQemu);
        _wmask[0x0c] = 0xff; // cache line size
        _wmask[PciIds.InterruptLine] = 0xff;
        _wmask[PciIds.Command] = PciIds.CommandIo | PciIds.CommandMemory | PciIds.CommandMaster;
        _wmask[PciIds.Command + 1] = 0x05; // SERR# enable, INTx disable
        _w1cmask[PciIds.Status + 1] = 0xf9; // parity, target/master aborts, SERR, detected parity
        _wmask.AsSpan(0x40).Fill(0xff);

        var owner = MemoryRegionOwner.Device(typeName, $"/machine/{typeName}", devicePath: $"0000:00:{devfn >> 3:x2}.{devfn & 7:x}");
        Owner = owner;
        BusMasterContainer = MemoryRegion.CreateContainer(machine.System, "bus master container", MemoryRegion.Size2To64, owner);
        BusMasterAlias = MemoryRegion.CreateAlias(machine.System, "bus master", machine.SystemMemory, 0, MemoryRegion.Size2To64, owner);
        BusMasterAlias.SetEnabled(false);
        BusMasterContainer.AddSubregion(0, BusMasterAlias);
        BusMasterSpace = machine.System.CreateAddressSpace(BusMasterContainer, typeName);
    }

    /// <summary>The machine.</summary>
    public Machine Machine { get; }

    /// <summary>QEMU's type name.</summary>
    public string DeviceTypeName { get; }

    /// <summary>Device and function number.</summary>
    public int Devfn { get; }

    /// <summary>Vendor id.</summary>
    public ushort VendorId { get; }

    /// <summary>Device id.</summary>
    public ushort DeviceId { get; }

    /// <summary>The bus it sits on, once attached.</summary>
    public PciBus? Bus { get; internal set; }

    /// <summary>Owner of the function's regions.</summary>
    public MemoryRegionOwner Owner { get; }

    /// <summary>"bus master container", the root of the function's DMA address space.</summary>
    public MemoryRegion BusMasterContainer { get; }

    /// <summary>"bus master": system memory, enabled while the command register's master bit is set.</summary>
    public MemoryRegion BusMasterAlias { get; }

    /// <summary>The function's DMA address space (named after the function, as in QEMU).</summary>
    public AddressSpace BusMasterSpace { get; }

    /// <summary>The base address registers (index 6: expansion ROM).</summary>
    public IReadOnlyList<PciBar?> Bars => _bars;

    /// <summary>Configuration-space size (256 or 4096).</summary>
    public int ConfigSize => _config.Length;

    /// <summary>A copy of the configuration space.</summary>
    public byte[] Config => (byte[])_config.Clone();

    /// <summary>The command register.</summary>
    public ushort CommandRegister => BinaryPrimitives.ReadUInt16LittleEndian(_config.AsSpan(PciIds.Command));

    /// <summary>Raw access to the configuration space for the function's own registers.</summary>
    protected Span<byte> ConfigBytes => _config;

    /// <summary>Raw access to the write masks.</summary>
    protected Span<byte> WriteMask => _wmask;

    /// <summary>Raw access to the write-1-to-clear masks.</summary>
    protected Span<byte> W1cMask => _w1cmask;

    /// <summary>Reads the configuration space (little-endian, 1, 2 or 4 bytes); offsets past its end read all ones.</summary>
    /// <param name="register">Byte offset.</param>
    /// <param name="length">1, 2 or 4.</param>
    public uint ReadConfig(int register, int length)
    {
        if (register < 0 || length is not (1 or 2 or 4) || register >= _config.Length)
        {
            return length >= 4 ? uint.MaxValue : (1u << (8 * length)) - 1;
        }
        return (uint)DeviceRegion.ReadLe(_config, (ulong)register, (uint)length);
    }

    /// <summary>
    /// Writes the configuration space as a guest does (QEMU's <c>pci_default_write_config</c>): each byte
    /// through its write mask and write-1-to-clear mask, then BAR mappings and bus mastering follow the
    /// command and BAR registers, then the function reacts (<see cref="ConfigWritten"/>). Writes that do
    /// not fit the space are ignored.
    /// </summary>
    /// <param name="register">Byte offset.</param>
    /// <param name="value">Value, little-endian.</param>
    /// <param name="length">1, 2 or 4.</param>
    public void WriteConfig(int register, uint value, int length)
    {
        if (register < 0 || length is not (1 or 2 or 4) || register + length > _config.Length)
        {
            return;
        }
        for (int i = 0; i < length; i++)
        {
            byte b = (byte)(value >> (8 * i));
            int r = register + i;
            _config[r] = (byte)((_config[r] & ~_wmask[r]) | (b & _wmask[r]));
            _config[r] &= (byte)~(b & _w1cmask[r]);
        }
        using (Machine.System.Transaction())
        {
            if (Overlaps(register, length, PciIds.Bar0, 24) || Overlaps(register, length, PciIds.RomAddress, 4) || Overlaps(register, length, PciIds.Command, 2))
            {
                UpdateMappings();
            }
            if (Overlaps(register, length, PciIds.Command, 2))
            {
                bool master = (CommandRegister & PciIds.CommandMaster) != 0;
                if (BusMasterAlias.Enabled != master)
                {
                    BusMasterAlias.SetEnabled(master);
                    Trace($"command 0x{CommandRegister:x}: bus mastering {(master ? "on" : "off")}");
                }
            }
            ConfigWritten(register, length);
        }
    }

    /// <summary>
    /// QEMU's <c>pci_do_device_reset</c>: command, status errors, cache line size, interrupt line and
    /// the BAR addresses go back to their reset values, and the mappings follow. Functions add their own
    /// registers.
    /// </summary>
    public virtual void Reset()
    {
        using (Machine.System.Transaction())
        {
            _config[PciIds.Command] &= (byte)~_wmask[PciIds.Command];
            _config[PciIds.Command + 1] &= (byte)~_wmask[PciIds.Command + 1];
            _config[PciIds.Status + 1] &= (byte)~_w1cmask[PciIds.Status + 1];
            _config[0x0c] = 0;
            _config[PciIds.InterruptLine] = 0;
            foreach (PciBar? bar in _bars)
            {
                if (bar is not null)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(bar.Register), bar.IsIo ? 1u : 0u);
                }
            }
            UpdateMappings();
            BusMasterAlias.SetEnabled(false);
        }
    }

    /// <summary>
    /// QEMU's <c>pci_register_bar</c>: BAR <paramref name="index"/> decodes <paramref name="region"/>; its
    /// size (a power of two, at least 4 for I/O and 16 for memory) sets the register's write mask.
    /// </summary>
    /// <param name="index">0-5.</param>
    /// <param name="region">The region it maps.</param>
    /// <param name="io">I/O space (otherwise 32-bit memory).</param>
    protected PciBar RegisterBar(int index, MemoryRegion region, bool io)
    {
        ArgumentNullException.ThrowIfNull(region);
        ulong size = region.Size64;
        if (index is < 0 or > 5 || !ulong.IsPow2(size) || size < (io ? 4UL : 16UL))
        {
            throw new ArgumentException($"BAR {index} of {DeviceTypeName}: size 0x{size:x} is not a power of two of at least {(io ? 4 : 16)}");
        }
        var bar = new PciBar(index, region, io);
        _bars[index] = bar;
        uint mask = (uint)~(size - 1) & (io ? 0xffff_fffcu : 0xffff_fff0u);
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(bar.Register), io ? 1u : 0u);
        BinaryPrimitives.WriteUInt32LittleEndian(_wmask.AsSpan(bar.Register), mask);
        return bar;
    }

    /// <summary>Called after a guest configuration write, inside the write's transaction.</summary>
    /// <param name="register">First byte written.</param>
    /// <param name="length">Bytes written.</param>
    protected virtual void ConfigWritten(int register, int length)
    {
    }

    /// <summary>Whether a write of <paramref name="length"/> bytes at <paramref name="register"/> touched [<paramref name="start"/>, +<paramref name="size"/>).</summary>
    /// <param name="register">First byte written.</param>
    /// <param name="length">Bytes written.</param>
    /// <param name="start">First byte of the register.</param>
    /// <param name="size">Register size.</param>
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

    /// <summary>Moves a region that is always mapped in <paramref name="container"/> to <paramref name="address"/> and enables or disables it (QEMU's <c>memory_region_set_address</c> + <c>set_enabled</c>).</summary>
    /// <param name="container">Where it is mapped.</param>
    /// <param name="mr">The region.</param>
    /// <param name="address">New address.</param>
    /// <param name="enabled">Whether it decodes.</param>
    /// <param name="why">The register values that ask for it.</param>
    protected void Place(MemoryRegion container, MemoryRegion mr, ulong address, bool enabled, string why)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(mr);
        using (Machine.System.Transaction())
        {
            if (mr.Address != address)
            {
                mr.SetAddress(address);
                Trace($"{why}: '{mr.Name}' moved to 0x{address:x}");
            }
            SetEnabled(mr, enabled, why);
        }
    }

    /// <summary>"dd.f/type", e.g. "00:1f.0/ICH9-LPC" (QEMU's vmstate instance of a PCI function: its bus address and type).</summary>
    public string StateName => $"00:{Devfn >> 3:x2}.{Devfn & 7:x}/{DeviceTypeName}";

    /// <summary>Version 1: the configuration space, then the function's own fields.</summary>
    public virtual int StateVersion => 1;

    /// <summary>Writes the configuration space ("config"), then <see cref="SaveFunctionState"/>.</summary>
    /// <param name="writer">Where the fields go.</param>
    public void SaveState(DeviceStateWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteBytes("config", _config);
        SaveFunctionState(writer);
    }

    /// <summary>
    /// Reads the configuration space and the function's fields, checks them (read-only bytes must be
    /// this function's: vendor, device, class, header type, BAR type bits, ...), then applies them in
    /// one transaction: the configuration space, the BAR mappings and bus mastering the command
    /// register asks for, and the function's register effects (<see cref="ConfigLoaded"/>).
    /// </summary>
    /// <param name="reader">Where the fields come from.</param>
    public void LoadState(DeviceStateReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (reader.Version != StateVersion)
        {
            throw reader.Fail($"state version {reader.Version} is not supported; {StateName} loads version {StateVersion}");
        }
        var config = new byte[_config.Length];
        reader.ReadBytes("config", config);
        for (int i = 0; i < config.Length; i++)
        {
            int readOnly = ~LoadableMask(i) & 0xff;
            if (((config[i] ^ _config[i]) & readOnly) != 0)
            {
                throw reader.Fail($"configuration byte 0x{i:x2} is 0x{config[i]:x2}, but its read-only bits (0x{readOnly:x2}) are 0x{_config[i] & readOnly:x2} on this function");
            }
        }
        Action? apply = ReadFunctionState(reader);
        reader.EnsureEnd();
        using (Machine.System.Transaction())
        {
            config.CopyTo(_config.AsSpan());
            apply?.Invoke();
            UpdateMappings();
            bool master = (CommandRegister & PciIds.CommandMaster) != 0;
            if (BusMasterAlias.Enabled != master)
            {
                BusMasterAlias.SetEnabled(master);
            }
            ConfigLoaded();
        }
    }

    /// <summary>Writes the function's own fields after the configuration space (nothing by default).</summary>
    /// <param name="writer">Where the fields go.</param>
    protected virtual void SaveFunctionState(DeviceStateWriter writer)
    {
    }

    /// <summary>
    /// Reads and checks what <see cref="SaveFunctionState"/> wrote, and returns what applies it (called
    /// inside the load's transaction after the configuration space is in place, before
    /// <see cref="ConfigLoaded"/>), or null. Must not change the function: a later field may still be refused.
    /// </summary>
    /// <param name="reader">Where the fields come from.</param>
    protected virtual Action? ReadFunctionState(DeviceStateReader reader) => null;

    /// <summary>The bits of configuration byte <paramref name="register"/> a load may set: those the guest can write or clear now.</summary>
    /// <param name="register">Byte offset.</param>
    protected virtual byte LoadableMask(int register) => (byte)(_wmask[register] | _w1cmask[register]);

    /// <summary>After a load: the function re-applies what its registers imply (by default as if the guest had written every register).</summary>
    protected virtual void ConfigLoaded() => ConfigWritten(0, _config.Length);

    private void UpdateMappings()
    {
        if (Bus is null)
        {
            return;
        }
        ushort command = CommandRegister;
        foreach (PciBar? bar in _bars)
        {
            if (bar is null)
            {
                continue;
            }
            uint reg = BinaryPrimitives.ReadUInt32LittleEndian(_config.AsSpan(bar.Register));
            ulong next = bar.Decode(reg, command);
            if (next == bar.Address)
            {
                continue;
            }
            MemoryRegion space = bar.IsIo ? Bus.IoSpace : Bus.MemorySpace;
            if (bar.Address != PciBar.Unmapped)
            {
                space.RemoveSubregion(bar.Region);
            }
            bar.Address = next;
            if (next != PciBar.Unmapped)
            {
                space.AddSubregion(next, bar.Region, 1);
                Trace($"BAR{bar.Index} = 0x{reg:x8}, command 0x{command:x}: '{bar.Region.Name}' mapped at 0x{next:x}");
            }
            else
            {
                Trace($"BAR{bar.Index} = 0x{reg:x8}, command 0x{command:x}: '{bar.Region.Name}' unmapped");
            }
        }
    }
}
