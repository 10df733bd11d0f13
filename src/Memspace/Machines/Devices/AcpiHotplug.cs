using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The ACPI hotplug register blocks QEMU's ACPI code drives ("acpi-pci-hotplug", 0x18 bytes, and
/// "acpi-cpu-hotplug", 0x20 bytes): with no hotplug ever happening, status registers read 0 and the
/// selector registers keep what is written.
/// </summary>
public sealed class AcpiHotplug
{
    private readonly Lock _lock = new();
    private readonly byte[] _pci = new byte[0x18], _cpu = new byte[0x20];

    /// <summary>Creates both blocks.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">Owning function.</param>
    public AcpiHotplug(MemorySystem system, MemoryRegionOwner? owner = null)
    {
        Pci = DeviceRegion.Create(system, "acpi-pci-hotplug", 0x18, (a, s) => Read(_pci, a, s), (a, v, s) => Write(_pci, a, v, s, 0x10), owner);
        Cpu = DeviceRegion.Create(system, "acpi-cpu-hotplug", 0x20, (a, s) => Read(_cpu, a, s), (a, v, s) => Write(_cpu, a, v, s, 0), owner);
    }

    /// <summary>"acpi-pci-hotplug".</summary>
    public MemoryRegion Pci { get; }

    /// <summary>"acpi-cpu-hotplug".</summary>
    public MemoryRegion Cpu { get; }

    /// <summary>Maps the blocks at <paramref name="pciAt"/> and <paramref name="cpuAt"/>.</summary>
    /// <param name="io">The "io" root.</param>
    /// <param name="pciAt">Port of the PCI block.</param>
    /// <param name="cpuAt">Port of the CPU block.</param>
    public void Map(MemoryRegion io, ulong pciAt, ulong cpuAt)
    {
        ArgumentNullException.ThrowIfNull(io);
        io.AddSubregion(pciAt, Pci);
        io.AddSubregion(cpuAt, Cpu);
    }

    /// <summary>Writes both blocks' bytes ("pci_hotplug", "cpu_hotplug" after <paramref name="prefix"/>).</summary>
    /// <param name="writer">Where the fields go.</param>
    /// <param name="prefix">Field name prefix.</param>
    internal void SaveState(DeviceStateWriter writer, string prefix)
    {
        lock (_lock)
        {
            writer.WriteBytes(prefix + "pci_hotplug", _pci);
            writer.WriteBytes(prefix + "cpu_hotplug", _cpu);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote; status bytes must read 0 (nothing is ever hotplugged). Returns what applies it.</summary>
    /// <param name="reader">Where the fields come from.</param>
    /// <param name="prefix">Field name prefix.</param>
    internal Action ReadState(DeviceStateReader reader, string prefix)
    {
        var pci = new byte[_pci.Length];
        var cpu = new byte[_cpu.Length];
        reader.ReadBytes(prefix + "pci_hotplug", pci);
        reader.ReadBytes(prefix + "cpu_hotplug", cpu);
        if (pci.AsSpan(0, 0x10).ContainsAnyExcept((byte)0))
        {
            throw reader.Fail($"field '{prefix}pci_hotplug' has hotplug status bits set, which this machine never raises");
        }
        return () =>
        {
            lock (_lock)
            {
                pci.CopyTo(_pci, 0);
                cpu.CopyTo(_cpu, 0);
            }
        };
    }

    private ulong Read(byte[] block, ulong offset, uint size)
    {
        lock (_lock)
        {
            return DeviceRegion.ReadLe(block, offset, size);
        }
    }

    private void Write(byte[] block, ulong offset, ulong value, uint size, int writableFrom)
    {
        lock (_lock)
        {
            // Only selector/command bytes keep values; status bytes stay 0 (nothing is hotplugged).
            if (offset >= (ulong)writableFrom)
            {
                DeviceRegion.WriteLe(block, [], offset, value, size);
            }
        }
    }
}
