using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// One base address register of a PCI function (QEMU's <c>PCIIORegion</c>): the region it decodes, its
/// size (a power of two) and kind, and where it is mapped now. <see cref="PciDevice"/> maps it at
/// priority 1 into the bus's memory or I/O container when the command register enables that kind of
/// decoding and the register holds a usable address (QEMU's <c>pci_bar_address</c>), and unmaps it
/// otherwise.
/// </summary>
public sealed class PciBar
{
    /// <summary>What <see cref="Address"/> holds while the BAR is not mapped.</summary>
    public const ulong Unmapped = ulong.MaxValue;

    internal PciBar(int index, MemoryRegion region, bool io)
    {
        Index = index;
        Region = region;
        IsIo = io;
        Size = region.Size64;
    }

    /// <summary>BAR number 0-5, or 6 for the expansion ROM.</summary>
    public int Index { get; }

    /// <summary>The region it decodes.</summary>
    public MemoryRegion Region { get; }

    /// <summary>I/O space (otherwise 32-bit memory).</summary>
    public bool IsIo { get; }

    /// <summary>Size in bytes (a power of two).</summary>
    public ulong Size { get; }

    /// <summary>Where it is mapped, or <see cref="Unmapped"/>.</summary>
    public ulong Address { get; internal set; } = Unmapped;

    /// <summary>Configuration-space offset of the register.</summary>
    public int Register => Index == 6 ? PciIds.RomAddress : PciIds.Bar0 + (4 * Index);

    /// <summary>
    /// The address the register and command value ask for, or <see cref="Unmapped"/> (QEMU's
    /// <c>pci_bar_address</c> for 32-bit BARs: decoding off, address 0, or a range that wraps or
    /// reaches the top of the 32-bit space).
    /// </summary>
    /// <param name="register">The BAR register's value.</param>
    /// <param name="command">The command register's value.</param>
    public ulong Decode(uint register, ushort command)
    {
        if (IsIo)
        {
            if ((command & PciIds.CommandIo) == 0)
            {
                return Unmapped;
            }
            ulong a = register & ~(Size - 1) & 0xffff_fffc;
            ulong last = a + Size - 1;
            return a == 0 || last <= a || last >= 0xffff_ffff ? Unmapped : a;
        }
        if ((command & PciIds.CommandMemory) == 0 || (Index == 6 && (register & 1) == 0))
        {
            return Unmapped;
        }
        ulong m = register & ~(Size - 1) & 0xffff_fff0;
        ulong end = m + Size - 1;
        return m == 0 || end <= m || end >= 0xffff_ffff ? Unmapped : m;
    }
}
