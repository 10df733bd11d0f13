using Memspace.Listeners;
using Memspace.Regions;

namespace Memspace;

/// <summary>What is rendered where a region sits (QEMU's <c>memory_region_find</c> and <c>memory_region_present</c>).</summary>
public static class MemoryRegionFind
{
    /// <summary>
    /// Finds what is rendered at <paramref name="address"/> (relative to <paramref name="region"/>) in the
    /// first address space whose root is the region's outermost container (<c>memory_region_find</c>).
    /// The result's <see cref="MemoryRegionSection.Region"/> is null when nothing is there or the region
    /// is not in any address space.
    /// </summary>
    /// <param name="region">The region.</param>
    /// <param name="address">Offset inside the region.</param>
    /// <param name="size">Size of the range to look up.</param>
    public static MemoryRegionSection Find(this MemoryRegion region, ulong address, ulong size)
    {
        ArgumentNullException.ThrowIfNull(region);
        var system = (MemorySystem)region.System;
        lock (system.TopologyLock)
        {
            ulong addr = address + region.Address;
            MemoryRegion root = region;
            while (root.Container is { } c)
            {
                root = c;
                addr += root.Address;
            }
            AddressSpace? space = system.AddressSpaceWithRoot(root);
            return space is null ? default : MemoryRegionSection.Find(space.CurrentMap, addr, size);
        }
    }

    /// <summary>Whether something other than <paramref name="region"/> is rendered at <paramref name="address"/> (<c>memory_region_present</c>).</summary>
    /// <param name="region">The region.</param>
    /// <param name="address">Offset inside the region.</param>
    public static bool IsPresent(this MemoryRegion region, ulong address)
    {
        MemoryRegion? mr = region.Find(address, 1).Region;
        return mr is not null && mr != region;
    }
}
