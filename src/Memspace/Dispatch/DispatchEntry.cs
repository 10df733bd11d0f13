using Memspace.Core;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Dispatch;

/// <summary>
/// What an access to one flat range needs, worked out once when the view is built (the role of a
/// section in QEMU's <c>AddressSpaceDispatch</c>).
/// </summary>
internal readonly struct DispatchEntry
{
    private DispatchEntry(in FlatRange fr, bool honourSectionReadOnly)
    {
        MemoryRegion mr = fr.Region;
        Region = mr;
        Start = fr.Start;
        LastOffset = (ulong)(fr.Size - 1);
        OffsetInRegion = fr.OffsetInRegion;
        DirtyMask = fr.DirtyLogMask;
        bool readOnly = honourSectionReadOnly ? fr.ReadOnly : mr.ReadOnly;
        if (mr.RamBlock is { Host: not 0 } block && !block.IsFreed)
        {
            Block = block;
            Host = block.Host + (nint)fr.OffsetInRegion;
            RamAddr = block.Offset + fr.OffsetInRegion;
            // QEMU's memory_access_is_direct.
            // The range's own romd mode: the view is a snapshot, whatever the region does later.
            bool romd = mr.IsRomDevice && fr.RomdMode;
            DirectRead = (mr.IsRam && !mr.IsRamDevice) || romd;
            RamWritable = mr.IsRam && !mr.IsRomDevice && !mr.IsRamDevice;
            ReadOnly = readOnly;
            RomLoadable = mr.IsRam || romd;
            DirectWritable = RamWritable && !readOnly;
        }
    }

    public static DispatchEntry For(in FlatRange fr, bool honourSectionReadOnly) => new(fr, honourSectionReadOnly);

    /// <summary>The terminal region; null only for <see cref="Unassigned"/>.</summary>
    public MemoryRegion Region { get; }

    /// <summary>The entry that stands for "nothing mapped here".</summary>
    public static readonly DispatchEntry Unassigned;

    /// <summary>First guest address of the range.</summary>
    public ulong Start { get; }

    /// <summary>Size of the range minus one.</summary>
    public ulong LastOffset { get; }

    /// <summary>Plain writes go straight to host memory (RAM that is not read-only).</summary>
    public bool DirectWritable { get; }

    /// <summary>Offset in the region of the range's first byte.</summary>
    public ulong OffsetInRegion { get; }

    /// <summary>The RAMBlock, when the range is backed by host memory.</summary>
    public RamBlock? Block { get; }

    /// <summary>Host address of the range's first byte, or 0.</summary>
    public nint Host { get; }

    /// <summary>ram_addr of the range's first byte.</summary>
    public ulong RamAddr { get; }

    /// <summary>Dirty-log clients to mark on writes.</summary>
    public byte DirtyMask { get; }

    /// <summary>Reads are served from host memory (RAM, ROM, ROM device in romd mode).</summary>
    public bool DirectRead { get; }

    /// <summary>Writes could go to host memory if the range were not read-only (RAM and ROM).</summary>
    public bool RamWritable { get; }

    /// <summary>The range is read-only (the section's flag, or the region's under QEMU 7.2's rule).</summary>
    public bool ReadOnly { get; }

    /// <summary>A ROM loader may write the range (RAM, ROM, ROM device).</summary>
    public bool RomLoadable { get; }

    /// <summary>Writes go straight to host memory (QEMU's <c>memory_access_is_direct</c> for writes; debug accesses may write ROM).</summary>
    public bool DirectWrite(MemTxAttrs attrs) => RamWritable && (!ReadOnly || attrs.Debug);
}
