namespace Memspace.Regions;

/// <summary>
/// How a region was created (which QEMU <c>memory_region_init*</c> function it corresponds to).
/// </summary>
public enum MemoryRegionKind
{
    /// <summary>Pure container (<c>memory_region_init</c>): renders only its subregions.</summary>
    Container,

    /// <summary>MMIO or port I/O with callbacks (<c>memory_region_init_io</c>); fills whatever its subregions leave.</summary>
    Io,

    /// <summary>A region that claims its range and rejects every access (<c>memory_region_init_io</c> with no ops).</summary>
    Reservation,

    /// <summary>Guest RAM (<c>memory_region_init_ram</c>).</summary>
    Ram,

    /// <summary>Read-only RAM (<c>memory_region_init_rom</c>).</summary>
    Rom,

    /// <summary>ROM device (<c>memory_region_init_rom_device</c>): reads from RAM in romd mode, writes go to callbacks.</summary>
    RomDevice,

    /// <summary>Device memory mapped directly but accessed like MMIO by the core (<c>memory_region_init_ram_device_ptr</c>).</summary>
    RamDevice,

    /// <summary>A window onto part of another region (<c>memory_region_init_alias</c>).</summary>
    Alias,
}
