using Memspace.Regions;

namespace Memspace.Dispatch;

/// <summary>
/// Blocks a device's callbacks from re-entering its own I/O regions (QEMU's
/// <c>mem_reentrancy_guard</c>, the defence against the CVE-2021-3750 class: a device that DMAs into
/// its own MMIO recurses into itself).
/// </summary>
/// <remarks>
/// QEMU keeps one flag per device and relies on the big lock to serialise devices. Memspace runs
/// callbacks of different vCPUs concurrently, so the flag is kept per device <em>and thread</em>:
/// a callback that reaches its own device on the same call stack is refused; another vCPU touching
/// the same device at the same time is not (the device model synchronises itself). A region that no
/// device owns (QEMU would not guard it at all) is guarded on its own, keyed by the region: a callback
/// that reads its own address gets <see cref="Core.MemTxResult.AccessError"/> instead of recursing
/// until the stack runs out.
/// </remarks>
internal static class ReentrancyGuard
{
    [ThreadStatic]
    private static object?[]? t_engaged;

    [ThreadStatic]
    private static int t_depth;

    /// <summary>Whether the guard applies to accesses to <paramref name="mr"/> (QEMU's conditions).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static bool Applies(MemoryRegion mr)
        => !mr.DisableReentrancyGuard && !mr.IsRamDevice && !mr.IsRam && !mr.IsRomDevice && !mr.ReadOnly;

    /// <summary>What the guard is keyed by: the owning device, or the region itself when no device owns it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static object Key(MemoryRegion mr) => mr.Owner is { IsDevice: true } owner ? owner : mr;

    /// <summary>Engages the guard of <paramref name="key"/> (see <see cref="Key"/>); false when it is already engaged on this thread.</summary>
    public static bool TryEnter(object key)
    {
        object?[] engaged = t_engaged ??= new object?[8];
        int depth = t_depth;
        for (int i = 0; i < depth; i++)
        {
            if (ReferenceEquals(engaged[i], key))
            {
                return false;
            }
        }
        if (depth == engaged.Length)
        {
            Array.Resize(ref t_engaged, depth * 2);
            engaged = t_engaged!;
        }
        engaged[depth] = key;
        t_depth = depth + 1;
        return true;
    }

    /// <summary>Releases the guard taken by the matching <see cref="TryEnter"/>.</summary>
    public static void Exit()
    {
        int depth = --t_depth;
        t_engaged![depth] = null;
    }
}
