using System.Buffers.Binary;
using Memspace.Core;

namespace Memspace.Vcpus;

/// <summary>
/// Serves an exit through the address spaces, as QEMU's <c>kvm_cpu_exec</c> does: port I/O items go to
/// the I/O address space (<c>kvm_handle_io</c>), MMIO to the memory address space. Safe code: whatever
/// the guest put in the exit, the result is a <see cref="VcpuExit"/>, never an exception or an access
/// outside <see cref="PendingExit.Data"/>.
/// </summary>
public static class ExitServer
{
    /// <summary>Serves <paramref name="exit"/>; reads fill <see cref="PendingExit.Data"/>.</summary>
    /// <param name="exit">The exit.</param>
    /// <param name="memory">Where MMIO goes.</param>
    /// <param name="io">Where port I/O goes.</param>
    public static VcpuExit Serve(in PendingExit exit, AddressSpace memory, AddressSpace io)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(io);
        return exit.Kind switch
        {
            VcpuExitKind.Io => ServeIo(exit, io),
            VcpuExitKind.Mmio => ServeMmio(exit, memory),
            _ => new VcpuExit(exit.Kind, exit.Address, Detail: exit.Detail),
        };
    }

    private static VcpuExit ServeIo(in PendingExit exit, AddressSpace io)
    {
        uint size = exit.Size;
        uint count = exit.Count;
        if (size is not (1 or 2 or 4) || count == 0 || exit.Address > 0xffff || (ulong)count * size != (ulong)exit.Data.Length)
        {
            return new VcpuExit(VcpuExitKind.Unhandled, exit.Address, size, count, exit.IsWrite,
                Detail: $"malformed port I/O exit: port 0x{exit.Address:x} size {size} count {count} with {exit.Data.Length} data bytes");
        }
        MemTxResult result = MemTxResult.Ok;
        Span<byte> data = exit.Data;
        for (int i = 0; i < count; i++)
        {
            Span<byte> item = data.Slice(i * (int)size, (int)size);
            result |= exit.IsWrite
                ? io.Write(exit.Address, item, MemTxAttrs.UnspecifiedAttrs)
                : io.Read(exit.Address, item, MemTxAttrs.UnspecifiedAttrs);
        }
        return new VcpuExit(VcpuExitKind.Io, exit.Address, size, count, exit.IsWrite, FirstItem(data, size), result);
    }

    private static VcpuExit ServeMmio(in PendingExit exit, AddressSpace memory)
    {
        uint length = exit.Size;
        if (length is 0 or > 8 || exit.Data.Length != length)
        {
            return new VcpuExit(VcpuExitKind.Unhandled, exit.Address, length, 1, exit.IsWrite,
                Detail: $"malformed MMIO exit: 0x{exit.Address:x} length {length} with {exit.Data.Length} data bytes");
        }
        Span<byte> data = exit.Data;
        MemTxResult result = exit.IsWrite
            ? memory.Write(exit.Address, data, MemTxAttrs.UnspecifiedAttrs)
            : memory.Read(exit.Address, data, MemTxAttrs.UnspecifiedAttrs);
        return new VcpuExit(VcpuExitKind.Mmio, exit.Address, length, 1, exit.IsWrite, FirstItem(data, length), result);
    }

    private static ulong FirstItem(ReadOnlySpan<byte> data, uint size)
    {
        Span<byte> value = stackalloc byte[8];
        value.Clear();
        data[..(int)size].CopyTo(value);
        return BinaryPrimitives.ReadUInt64LittleEndian(value);
    }
}
