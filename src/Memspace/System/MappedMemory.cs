using Memspace.Core;
using Memspace.Ram;
using Memspace.Regions;

namespace Memspace;

/// <summary>
/// A DMA mapping made by <see cref="AddressSpace.Map"/> (what <c>address_space_map</c> returns):
/// either host memory of a RAMBlock, or a bounce buffer standing in for a device. Give it back with
/// <see cref="AddressSpace.Unmap"/>.
/// </summary>
public sealed class MappedMemory
{
    internal MappedMemory(AddressSpace space, ulong address, nint pointer, ulong length, bool isWrite, MemTxAttrs attrs,
        MemoryRegion? region, ulong offsetInRegion, RamBlock? block)
    {
        AddressSpace = space;
        Address = address;
        HostPointer = pointer;
        Length = length;
        IsWrite = isWrite;
        Attrs = attrs;
        Region = region;
        OffsetInRegion = offsetInRegion;
        Block = block;
    }

    /// <summary>The address space the mapping was made in.</summary>
    public AddressSpace AddressSpace { get; }

    /// <summary>Guest address of the first byte.</summary>
    public ulong Address { get; }

    /// <summary>Host address of the mapped bytes; valid until <see cref="AddressSpace.Unmap"/>.</summary>
    /// <exception cref="ObjectDisposedException">The mapping has been unmapped.</exception>
    public nint Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsUnmapped, this);
            return HostPointer;
        }
    }

    /// <summary>The host address, without the check (for Unmap itself).</summary>
    internal nint HostPointer { get; }

    /// <summary>Bytes mapped: possibly fewer than asked for (a different region follows, or bounce space ran short).</summary>
    public ulong Length { get; }

    /// <summary>Whether the mapping is for writing.</summary>
    public bool IsWrite { get; }

    /// <summary>Whether the bytes are a bounce buffer (the address was not plain RAM).</summary>
    public bool IsBounce => Block is null;

    /// <summary>Whether <see cref="AddressSpace.Unmap"/> has been called.</summary>
    public bool IsUnmapped
    {
        get => _unmapped;
        internal set => _unmapped = value;
    }

    private volatile bool _unmapped;

    internal MemTxAttrs Attrs { get; }

    internal MemoryRegion? Region { get; }

    internal ulong OffsetInRegion { get; }

    internal RamBlock? Block { get; }

    /// <summary>The mapped bytes.</summary>
    public Span<byte> AsSpan()
    {
        ObjectDisposedException.ThrowIf(IsUnmapped, this);
        return Bytes(checked((int)Length));
    }

    /// <summary>The first <paramref name="length"/> bytes of a bounce buffer, while <see cref="AddressSpace.Unmap"/> writes them back.</summary>
    internal ReadOnlySpan<byte> BounceBytes(int length) => Bytes(Math.Min(length, checked((int)Length)));

    // SAFETY: HostPointer and Length describe memory this mapping owns until Unmap frees or releases it:
    // a bounce buffer it allocated, or a RAMBlock range whose block the mapping count keeps mapped.
    // Callers check IsUnmapped first, or are Unmap itself before it frees the buffer; length <= Length.
    private unsafe Span<byte> Bytes(int length) => new((void*)HostPointer, length);
}
