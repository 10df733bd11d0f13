using Memspace.Core;

namespace Memspace;

/// <summary>
/// What a device model needs of guest memory to do DMA: reads, writes and mappings through one
/// address space, with QEMU's results (the narrow consumer interface; <see cref="AddressSpace"/>
/// implements it). A device given this cannot change the topology or see anything but bytes.
/// </summary>
public interface IGuestMemory
{
    /// <summary>The address space's name, for diagnostics.</summary>
    string Name { get; }

    /// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="address"/> (<c>dma_memory_read</c>).</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="buffer">Where the bytes go; unmapped bytes read as 0.</param>
    /// <param name="attrs">Transaction attributes.</param>
    MemTxResult Read(ulong address, Span<byte> buffer, MemTxAttrs attrs);

    /// <summary>Writes <paramref name="buffer"/> at <paramref name="address"/> (<c>dma_memory_write</c>).</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="buffer">The bytes.</param>
    /// <param name="attrs">Transaction attributes.</param>
    MemTxResult Write(ulong address, ReadOnlySpan<byte> buffer, MemTxAttrs attrs);

    /// <summary>Maps up to <paramref name="length"/> bytes for DMA (<c>dma_memory_map</c>); null when nothing can be mapped now.</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="length">Bytes wanted.</param>
    /// <param name="isWrite">Whether the device will write.</param>
    /// <param name="attrs">Transaction attributes.</param>
    MappedMemory? Map(ulong address, ulong length, bool isWrite, MemTxAttrs attrs);

    /// <summary>Ends a mapping made by <see cref="Map"/> (<c>dma_memory_unmap</c>).</summary>
    /// <param name="mapping">The mapping.</param>
    /// <param name="accessLength">Bytes the device actually accessed.</param>
    void Unmap(MappedMemory mapping, ulong accessLength);
}
