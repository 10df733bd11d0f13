using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Memspace.Core;

/// <summary>
/// Loads and stores of 1, 2, 4 or 8 bytes at a host address, unaligned and in host (little-endian)
/// order: the one place that turns an access width into a pointer access.
/// </summary>
internal static class HostAccess
{
    /// <summary>Reads <paramref name="size"/> (1, 2, 4 or 8) bytes at <paramref name="p"/>, zero-extended.</summary>
    // SAFETY: the caller guarantees that [p, p + size) lies in host memory that stays mapped for the
    // duration of the call (an RCU read section over a view that holds the block, or a pinned block).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ulong Load(byte* p, uint size)
    {
        Debug.Assert(size is 1 or 2 or 4 or 8);
        return size switch
        {
            1 => *p,
            2 => Unsafe.ReadUnaligned<ushort>(p),
            4 => Unsafe.ReadUnaligned<uint>(p),
            _ => Unsafe.ReadUnaligned<ulong>(p),
        };
    }

    /// <summary>Writes the low <paramref name="size"/> (1, 2, 4 or 8) bytes of <paramref name="value"/> at <paramref name="p"/>.</summary>
    // SAFETY: the caller guarantees that [p, p + size) lies in writable host memory that stays mapped
    // for the duration of the call (an RCU read section over a view that holds the block, or a pinned block).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(byte* p, ulong value, uint size)
    {
        Debug.Assert(size is 1 or 2 or 4 or 8);
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
            case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
            default: Unsafe.WriteUnaligned(p, value); break;
        }
    }
}
