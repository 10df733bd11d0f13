using Memspace.Core;

namespace Memspace.Regions;

/// <summary>
/// The callbacks of a RAM device region (QEMU's <c>ram_device_mem_ops</c>): accesses of 1 to 8
/// bytes, unaligned allowed, read and written in host order straight from the device memory.
/// Accesses that run past the end of the memory read as 0 and are dropped (QEMU would overrun).
/// </summary>
internal static class RamDeviceOps
{
    public static MemoryRegionOps For(MemoryRegion mr) => new()
    {
        Read = (address, size) => Read(mr, address, size),
        Write = (address, value, size) => Write(mr, address, value, size),
        Valid = new ValidAccess { MinAccessSize = 1, MaxAccessSize = 8, Unaligned = true },
        Impl = new ImplAccess { MinAccessSize = 1, MaxAccessSize = 8, Unaligned = true },
    };

    private static ulong Read(MemoryRegion mr, ulong address, uint size)
    {
        if (size is not (1 or 2 or 4 or 8) || mr.RamBlock is not { Host: not 0 } block || address > block.UsedLength || size > block.UsedLength - address)
        {
            return 0;
        }
        // SAFETY: [address, address + size) is inside the block's used length (checked above); the
        // caller's RCU read section over a view that shows the region keeps the block mapped.
        unsafe
        {
            return HostAccess.Load((byte*)(block.Host + (nint)address), size);
        }
    }

    private static void Write(MemoryRegion mr, ulong address, ulong value, uint size)
    {
        if (size is not (1 or 2 or 4 or 8) || mr.RamBlock is not { Host: not 0 } block || address > block.UsedLength || size > block.UsedLength - address)
        {
            return;
        }
        // SAFETY: as in Read: in bounds, and mapped for the caller's read section.
        unsafe
        {
            HostAccess.Store((byte*)(block.Host + (nint)address), value, size);
        }
    }
}
