namespace Memspace.Unicorn;

/// <summary>How a range of guest-physical addresses is given to Unicorn.</summary>
public enum UnicornMappingKind
{
    /// <summary>RAM or ROM mapped to its RAMBlock's host memory (<c>uc_mem_map_ptr</c>); ROM read-only.</summary>
    Ram,

    /// <summary>A window whose accesses go through the address space (<c>uc_mmio_map</c>): MMIO, and pages RAM shares with other sections.</summary>
    Mmio,

    /// <summary>A page nothing claims, mapped on the guest's first touch so that it reads as unassigned memory does.</summary>
    Unassigned,
}
