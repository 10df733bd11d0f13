namespace Memspace.Ram;

/// <summary>
/// A host pointer into a RAMBlock that keeps the block's memory mapped while it is held (what
/// <c>memory_region_get_ram_ptr</c> returns, made safe to keep): the region can still be destroyed,
/// but its host memory is released only once every pointer is disposed. After
/// <see cref="Dispose"/>, <see cref="Address"/> throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class RamPointer : IDisposable
{
    private readonly nint _address;
    private int _disposed;

    internal RamPointer(RamBlock block, ulong offset)
    {
        Block = block;
        Offset = offset;
        _address = block.Host + (nint)offset;
    }

    /// <summary>The block the pointer points into.</summary>
    public RamBlock Block { get; }

    /// <summary>Offset of <see cref="Address"/> in <see cref="Block"/>.</summary>
    public ulong Offset { get; }

    /// <summary>Bytes from <see cref="Address"/> to the end of the block's maximum length.</summary>
    public ulong Length => Block.MaxLength - Offset;

    /// <summary>The host address; valid until the handle is disposed.</summary>
    public nint Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _address;
        }
    }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Gives the pin back; the block's memory may be released once the last pin goes.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Block.RemoveMapping();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"0x{_address:x} in {Block}{(IsDisposed ? " (disposed)" : "")}";
}
