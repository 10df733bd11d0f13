using Memspace.Core;
using Memspace.Regions;

namespace Memspace.Dispatch;

/// <summary>Direct device accesses to one region (QEMU's <c>memory_region_dispatch_read</c>/<c>_write</c>).</summary>
public static class MemoryRegionDispatch
{
    /// <summary>
    /// Reads <paramref name="size"/> bytes at <paramref name="address"/> of this region through its
    /// callbacks, following aliases: validity checks first (a rejected access reads 0 with
    /// <see cref="MemTxResult.DecodeError"/>), then QEMU's splitting and widening.
    /// </summary>
    /// <param name="region">The region.</param>
    /// <param name="address">Offset in the region.</param>
    /// <param name="value">The value read, in the byte order asked for.</param>
    /// <param name="size">1, 2, 4 or 8.</param>
    /// <param name="attrs">Transaction attributes.</param>
    /// <param name="bigEndian">Return the value big-endian (true) or little-endian.</param>
    public static MemTxResult DispatchRead(this MemoryRegion region, ulong address, out ulong value, uint size, MemTxAttrs attrs, bool bigEndian = false)
    {
        ArgumentNullException.ThrowIfNull(region);
        CheckDispatchSize(size);
        return MmioDispatch.Read(region, address, out value, size, bigEndian, attrs);
    }

    /// <summary>Writes <paramref name="size"/> bytes of <paramref name="value"/> at <paramref name="address"/> of this region through its callbacks.</summary>
    /// <param name="region">The region.</param>
    /// <param name="address">Offset in the region.</param>
    /// <param name="value">The value, in the byte order given by <paramref name="bigEndian"/>.</param>
    /// <param name="size">1, 2, 4 or 8.</param>
    /// <param name="attrs">Transaction attributes.</param>
    /// <param name="bigEndian">The value is big-endian (true) or little-endian.</param>
    public static MemTxResult DispatchWrite(this MemoryRegion region, ulong address, ulong value, uint size, MemTxAttrs attrs, bool bigEndian = false)
    {
        ArgumentNullException.ThrowIfNull(region);
        CheckDispatchSize(size);
        return MmioDispatch.Write(region, address, value, size, bigEndian, attrs);
    }

    private static void CheckDispatchSize(uint size)
    {
        if (size is not (1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "an access is 1, 2, 4 or 8 bytes");
        }
    }
}
