using Memspace.Core;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// Creates the little-endian register windows the platform devices use (QEMU's <c>memory_region_init_io</c>
/// with <c>DEVICE_LITTLE_ENDIAN</c>): accesses of 1 to <c>maxAccess</c> bytes reach the callbacks as
/// they are, at most 4 bytes wide, unaligned ones allowed unless the device forbids them.
/// </summary>
public static class DeviceRegion
{
    /// <summary>A register window with callbacks.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="name">QEMU's region name.</param>
    /// <param name="size">Window size in bytes.</param>
    /// <param name="read">Read callback (offset, size in bytes).</param>
    /// <param name="write">Write callback (offset, value, size in bytes).</param>
    /// <param name="owner">Owning device.</param>
    /// <param name="maxAccess">Widest access the device accepts (1, 2, 4 or 8).</param>
    public static MemoryRegion Create(MemorySystem system, string name, ulong size, Func<ulong, uint, ulong> read,
        Action<ulong, ulong, uint> write, MemoryRegionOwner? owner = null, uint maxAccess = 4)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(write);
        return MemoryRegion.CreateIo(system, name, size, new MemoryRegionOps
        {
            Read = (addr, sz) => read(addr, sz),
            Write = (addr, value, sz) => write(addr, value, sz),
            Endianness = DeviceEndianness.Little,
            Valid = new ValidAccess { MinAccessSize = 1, MaxAccessSize = maxAccess, Unaligned = true },
            Impl = new ImplAccess { MinAccessSize = 1, MaxAccessSize = maxAccess, Unaligned = true },
        }, owner);
    }

    /// <summary>A window that reads all zeros and ignores writes (a register block whose contents nothing here uses).</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="name">QEMU's region name.</param>
    /// <param name="size">Window size in bytes.</param>
    /// <param name="owner">Owning device.</param>
    public static MemoryRegion Inert(MemorySystem system, string name, ulong size, MemoryRegionOwner? owner = null)
        => Create(system, name, size, (_, _) => 0, (_, _, _) => { }, owner);

    /// <summary>Reads <paramref name="size"/> bytes little-endian from <paramref name="bytes"/> at <paramref name="offset"/>; bytes past the end read 0.</summary>
    /// <param name="bytes">Register file.</param>
    /// <param name="offset">First byte.</param>
    /// <param name="size">Bytes to read (at most 8).</param>
    public static ulong ReadLe(ReadOnlySpan<byte> bytes, ulong offset, uint size)
    {
        ulong value = 0;
        for (uint i = 0; i < size && i < 8; i++)
        {
            ulong at = offset + i;
            if (at < (ulong)bytes.Length)
            {
                value |= (ulong)bytes[(int)at] << (int)(8 * i);
            }
        }
        return value;
    }

    /// <summary>Writes <paramref name="size"/> bytes little-endian into <paramref name="bytes"/>, keeping the bits <paramref name="mask"/> clears; bytes past the end are dropped.</summary>
    /// <param name="bytes">Register file.</param>
    /// <param name="mask">Writable bits per byte, or empty for all.</param>
    /// <param name="offset">First byte.</param>
    /// <param name="value">Value.</param>
    /// <param name="size">Bytes to write (at most 8).</param>
    public static void WriteLe(Span<byte> bytes, ReadOnlySpan<byte> mask, ulong offset, ulong value, uint size)
    {
        for (uint i = 0; i < size && i < 8; i++)
        {
            ulong at = offset + i;
            if (at < (ulong)bytes.Length)
            {
                byte m = mask.IsEmpty ? (byte)0xff : mask[(int)at];
                bytes[(int)at] = (byte)((bytes[(int)at] & ~m) | ((byte)(value >> (int)(8 * i)) & m));
            }
        }
    }
}
