using System.Runtime.CompilerServices;
using Memspace.Regions;

namespace Memspace.Dispatch;

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

    private static unsafe ulong Read(MemoryRegion mr, ulong address, uint size)
    {
        if (mr.RamBlock is not { Host: not 0 } block || address > block.UsedLength || size > block.UsedLength - address)
        {
            return 0;
        }
        byte* p = (byte*)(block.Host + (nint)address);
        return size switch
        {
            1 => *p,
            2 => Unsafe.ReadUnaligned<ushort>(p),
            4 => Unsafe.ReadUnaligned<uint>(p),
            8 => Unsafe.ReadUnaligned<ulong>(p),
            _ => 0,
        };
    }

    private static unsafe void Write(MemoryRegion mr, ulong address, ulong value, uint size)
    {
        if (mr.RamBlock is not { Host: not 0 } block || address > block.UsedLength || size > block.UsedLength - address)
        {
            return;
        }
        byte* p = (byte*)(block.Host + (nint)address);
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
            case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
            case 8: Unsafe.WriteUnaligned(p, value); break;
        }
    }
}
