using System.Runtime.CompilerServices;
using Memspace.Rendering;

namespace Memspace.Dispatch;

/// <summary>
/// What guest accesses use to find their way through one <see cref="FlatView"/> (the role of QEMU's
/// <c>AddressSpaceDispatch</c>): a <see cref="DispatchEntry"/> per range, built once when the view is
/// rendered, and a most-recently-used hint. Address spaces that share a view share its table.
/// </summary>
internal sealed class DispatchTable
{
    private readonly DispatchEntry[] _entries;
    private int _mru;

    /// <summary>Builds the entries of <paramref name="view"/>.</summary>
    /// <param name="view">The rendered view.</param>
    /// <param name="honourSectionReadOnly">Whether a section's read-only flag makes its RAM read-only (Memspace's rule) or only the region's own flag does (QEMU 7.2's).</param>
    public DispatchTable(FlatView view, bool honourSectionReadOnly)
    {
        View = view;
        ReadOnlySpan<FlatRange> ranges = view.RangeSpan;
        _entries = new DispatchEntry[ranges.Length];
        for (int i = 0; i < ranges.Length; i++)
        {
            _entries[i] = DispatchEntry.For(ranges[i], honourSectionReadOnly);
        }
    }

    /// <summary>The view the table serves.</summary>
    public FlatView View { get; }

    /// <summary>The entries, in the view's range order.</summary>
    public ReadOnlySpan<DispatchEntry> Entries => _entries;

    /// <summary>First address of range <paramref name="index"/>.</summary>
    public ulong StartOf(int index) => _entries[index].Start;

    /// <summary>Last address of range <paramref name="index"/>.</summary>
    public ulong LastOf(int index) => _entries[index].Start + _entries[index].LastOffset;

    /// <summary>First address at or above <paramref name="address"/> that some range covers, or null.</summary>
    public ulong? NextStart(ulong address) => View.NextStart(address);

    /// <summary>
    /// <see cref="FlatView.IndexOf"/> behind a most-recently-used hint (QEMU's <c>mru_section</c>):
    /// checked first, written only on a miss, so threads that keep hitting one range share a read-only line.
    /// </summary>
    public int FindIndex(ulong address)
    {
        int i = _mru;
        DispatchEntry[] d = _entries;
        if ((uint)i < (uint)d.Length && address - d[i].Start <= d[i].LastOffset)
        {
            return i;
        }
        int j = View.IndexOf(address);
        if (j >= 0)
        {
            _mru = j;
        }
        return j;
    }

    /// <summary>The entry for <paramref name="address"/>, or <see cref="DispatchEntry.Unassigned"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly DispatchEntry EntryFor(ulong address)
    {
        int i = _mru;
        DispatchEntry[] d = _entries;
        if ((uint)i < (uint)d.Length)
        {
            ref readonly DispatchEntry e = ref d[i];
            if (address - e.Start <= e.LastOffset)
            {
                return ref e;
            }
        }
        int j = FindIndex(address);
        return ref j >= 0 ? ref d[j] : ref DispatchEntry.Unassigned;
    }
}
