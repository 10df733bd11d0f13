using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Memspace.Util;

/// <summary>Searches whose steps are conditional moves, not branches: a lookup among random addresses mispredicts nothing.</summary>
internal static class BranchFree
{
    /// <summary>Index of the last element of the sorted <paramref name="keys"/> at or below <paramref name="key"/>; 0 when none is (or the array has one element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LastAtOrBelow(ulong[] keys, ulong key)
    {
        ref ulong first = ref MemoryMarshal.GetArrayDataReference(keys);
        int lo = 0, n = keys.Length;
        while (n > 1)
        {
            int half = n >> 1;
            // 'below' is 0 or 1 (setcc), so the step is taken or not without a branch.
            int below = Unsafe.BitCast<bool, byte>(Unsafe.Add(ref first, lo + half) <= key);
            lo += half & -below;
            n -= half;
        }
        return lo;
    }
}
