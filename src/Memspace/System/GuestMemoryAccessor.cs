using Memspace.Core;
using Memspace.Dispatch;

namespace Memspace;

/// <summary>
/// Fast guest-memory access for one thread of work at a time (a vCPU's, or a device model's): it keeps
/// its own RCU reader record and its own translation cache of guest page to RAM, like the TLB of a
/// QEMU CPU, so an access does not have to find the calling thread's state first. Results are exactly
/// those of the same calls on <see cref="AddressSpace"/>. Not thread-safe: use it from one thread at a
/// time (create one per thread); dispose it when done.
/// </summary>
/// <example><code>
/// using GuestMemoryAccessor ram = memory.CreateAccessor();
/// ulong v = ram.LoadU64Le(0x1000, out MemTxResult r, MemTxAttrs.UnspecifiedAttrs);
/// </code></example>
public sealed class GuestMemoryAccessor : IDisposable
{
    private readonly DispatchReader _reader;
    private int _disposed;

    internal GuestMemoryAccessor(AddressSpace space)
    {
        Space = space;
        _reader = DispatchReader.Detached();
    }

    /// <summary>The address space accessed.</summary>
    public AddressSpace Space { get; }

    /// <summary>Reads a byte (<c>address_space_ldub</c>).</summary>
    public byte LoadU8(ulong address, out MemTxResult result, MemTxAttrs attrs) => (byte)Space.Load(Reader, address, 1, false, out result, attrs);

    /// <summary>Reads a little-endian 16-bit value.</summary>
    public ushort LoadU16Le(ulong address, out MemTxResult result, MemTxAttrs attrs) => (ushort)Space.Load(Reader, address, 2, false, out result, attrs);

    /// <summary>Reads a little-endian 32-bit value.</summary>
    public uint LoadU32Le(ulong address, out MemTxResult result, MemTxAttrs attrs) => (uint)Space.Load(Reader, address, 4, false, out result, attrs);

    /// <summary>Reads a little-endian 64-bit value.</summary>
    public ulong LoadU64Le(ulong address, out MemTxResult result, MemTxAttrs attrs) => Space.Load(Reader, address, 8, false, out result, attrs);

    /// <summary>Writes a byte.</summary>
    public MemTxResult StoreU8(ulong address, byte value, MemTxAttrs attrs) => Space.Store(Reader, address, value, 1, false, attrs);

    /// <summary>Writes a little-endian 16-bit value.</summary>
    public MemTxResult StoreU16Le(ulong address, ushort value, MemTxAttrs attrs) => Space.Store(Reader, address, value, 2, false, attrs);

    /// <summary>Writes a little-endian 32-bit value.</summary>
    public MemTxResult StoreU32Le(ulong address, uint value, MemTxAttrs attrs) => Space.Store(Reader, address, value, 4, false, attrs);

    /// <summary>Writes a little-endian 64-bit value.</summary>
    public MemTxResult StoreU64Le(ulong address, ulong value, MemTxAttrs attrs) => Space.Store(Reader, address, value, 8, false, attrs);

    /// <summary>Reads <paramref name="buffer"/>.Length bytes (<c>address_space_read</c>).</summary>
    public MemTxResult Read(ulong address, Span<byte> buffer, MemTxAttrs attrs) => Space.Read(Reader, address, buffer, attrs);

    /// <summary>Writes <paramref name="buffer"/> (<c>address_space_write</c>).</summary>
    public MemTxResult Write(ulong address, ReadOnlySpan<byte> buffer, MemTxAttrs attrs) => Space.Write(Reader, address, buffer, attrs);

    private DispatchReader Reader
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return _reader;
        }
    }

    /// <summary>Drops the accessor's reader record; the accessor must not be in use on another thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Rcu.Unregister(_reader.Rcu);
        }
    }
}
