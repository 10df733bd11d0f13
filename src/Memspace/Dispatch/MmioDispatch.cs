using Memspace.Core;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using Memspace.Regions;

namespace Memspace.Dispatch;

/// <summary>
/// Device accesses with QEMU's rules: validity checks (<c>memory_region_access_valid</c>), cutting a
/// bulk access into pieces (<c>memory_access_size</c>), splitting or widening to what the callbacks
/// implement (<c>access_with_adjusted_size</c>), byte order (<c>adjust_endianness</c>), ioeventfd
/// shortcuts and the re-entrancy guard.
/// </summary>
internal static class MmioDispatch
{
    /// <summary>
    /// The largest piece of a bulk access that goes to <paramref name="mr"/> in one call: at most
    /// <c>valid.max_access_size</c> (0 counts as 4), no larger than the alignment of the address
    /// unless the callbacks handle unaligned accesses, rounded down to a power of two.
    /// </summary>
    public static uint AccessSize(MemoryRegion mr, ulong length, ulong address)
    {
        MemoryRegionOps ops = mr.Ops;
        uint max = ops.Valid.MaxAccessSize == 0 ? 4 : ops.Valid.MaxAccessSize;
        if (!ops.Impl.Unaligned)
        {
            ulong align = address & (0 - address);
            if (align != 0 && align < max)
            {
                max = (uint)align;
            }
        }
        ulong l = Math.Min(length, max);
        return l == 0 ? 0 : 1u << BitOperations.Log2(l);
    }

    /// <summary>QEMU's <c>memory_region_access_valid</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AccessValid(MemoryRegion mr, ulong address, uint size, bool isWrite, MemTxAttrs attrs)
    {
        ValidAccess valid = mr.Ops.Valid;
        if (valid.Accepts is { } accepts && !accepts(address, size, isWrite, attrs))
        {
            return Invalid(mr, address, size, isWrite, "rejected");
        }
        if (!valid.Unaligned && size != 0 && (address & (size - 1)) != 0)
        {
            return Invalid(mr, address, size, isWrite, "unaligned");
        }
        if (valid.MaxAccessSize != 0 && (size > valid.MaxAccessSize || size < valid.MinAccessSize))
        {
            return Invalid(mr, address, size, isWrite, null);
        }
        return true;
    }

    /// <summary>
    /// Logs a rejected access as a guest error (QEMU's <c>LOG_GUEST_ERROR</c> message) and returns
    /// false; a null reason means an invalid size.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Invalid(MemoryRegion mr, ulong address, uint size, bool isWrite, string? reason)
    {
        if (mr.System.GuestErrorsEnabled)
        {
            ValidAccess valid = mr.Ops.Valid;
            reason ??= $"invalid size (min:{valid.MinAccessSize} max:{valid.MaxAccessSize})";
            mr.System.ReportGuestError($"Invalid {(isWrite ? "write" : "read")} at addr 0x{address:X}, size {size}, region '{mr.Name}', reason: {reason}");
        }
        return false;
    }

    /// <summary>
    /// QEMU's <c>memory_region_dispatch_read</c>: follows aliases, checks validity (invalid: value 0,
    /// <see cref="MemTxResult.DecodeError"/>), calls the device, then puts the value in the byte order
    /// the caller asked for (<paramref name="bigEndian"/>).
    /// </summary>
    public static MemTxResult Read(MemoryRegion mr, ulong address, out ulong value, uint size, bool bigEndian, MemTxAttrs attrs)
    {
        while (mr.AliasTarget is { } target)
        {
            address += mr.AliasOffset;
            mr = target;
        }
        if (!AccessValid(mr, address, size, false, attrs))
        {
            value = 0;
            return MemTxResult.DecodeError;
        }
        MemTxResult r = AdjustedAccess(mr, address, out value, size, isWrite: false, attrs);
        value = AdjustEndianness(mr, value, size, bigEndian);
        return r;
    }

    /// <summary>
    /// QEMU's <c>memory_region_dispatch_write</c>: follows aliases, checks validity (invalid: dropped,
    /// <see cref="MemTxResult.DecodeError"/>), converts the value to the device's byte order, lets a
    /// matching ioeventfd take the write when no accelerator does, else calls the device.
    /// </summary>
    public static MemTxResult Write(MemoryRegion mr, ulong address, ulong value, uint size, bool bigEndian, MemTxAttrs attrs)
    {
        while (mr.AliasTarget is { } target)
        {
            address += mr.AliasOffset;
            mr = target;
        }
        if (!AccessValid(mr, address, size, true, attrs))
        {
            return MemTxResult.DecodeError;
        }
        value = AdjustEndianness(mr, value, size, bigEndian);
        if (mr.Ioeventfds.Count != 0 && SignalIoeventfd(mr, address, value, size))
        {
            return MemTxResult.Ok;
        }
        return AdjustedAccess(mr, address, out _, size, isWrite: true, attrs, value);
    }

    /// <summary>
    /// QEMU's <c>memory_region_dispatch_write_eventfds</c>. Ioeventfds that an accelerator signals
    /// itself (an eventfd registered with KVM) are skipped: a write that reaches userspace anyway goes
    /// to the device, as in QEMU under KVM.
    /// </summary>
    private static bool SignalIoeventfd(MemoryRegion mr, ulong address, ulong value, uint size)
    {
        IReadOnlyList<MemoryRegionIoeventfd> fds = mr.Ioeventfds;
        bool accelerated = mr.System.IoeventfdsHandledByAccelerator;
        for (int i = 0; i < fds.Count; i++)
        {
            MemoryRegionIoeventfd fd = fds[i];
            if (accelerated && fd.Notifier.Fd >= 0)
            {
                continue;
            }
            var access = new MemoryRegionIoeventfd(address, size, fd.MatchData, value, fd.Notifier);
            if (MemoryRegionIoeventfd.Matches(access, fd))
            {
                fd.Notifier.Set();
                return true;
            }
        }
        return false;
    }

    /// <summary>Swaps the value when the requested byte order differs from the device's (QEMU's <c>adjust_endianness</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong AdjustEndianness(MemoryRegion mr, ulong value, uint size, bool bigEndian)
    {
        bool deviceBig = mr.Ops.Endianness == DeviceEndianness.Big;
        if (bigEndian == deviceBig)
        {
            return value;
        }
        return size switch
        {
            2 => BinaryPrimitives.ReverseEndianness((ushort)value),
            4 => BinaryPrimitives.ReverseEndianness((uint)value),
            8 => BinaryPrimitives.ReverseEndianness(value),
            _ => value,
        };
    }

    /// <summary>
    /// QEMU's <c>access_with_adjusted_size</c>: calls the device with pieces of
    /// clamp(size, impl.min, impl.max) bytes (impl.min 0 means 1, impl.max 0 means 4), placing piece
    /// <c>i</c> at bit <c>8*i</c> for little-endian devices and <c>8*(size-piece-i)</c> for big-endian
    /// ones, OR-ing values and results. A piece wider than the request is made once, at the
    /// unaligned address. The re-entrancy guard (of the owning device, or of the region when no device owns
    /// it) is held throughout.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MemTxResult AdjustedAccess(MemoryRegion mr, ulong address, out ulong value, uint size, bool isWrite, MemTxAttrs attrs, ulong writeValue = 0)
    {
        if (!ReentrancyGuard.Applies(mr))
        {
            MemoryRegionOps ops = mr.Ops;
            uint min = ops.Impl.MinAccessSize == 0 ? 1 : ops.Impl.MinAccessSize;
            uint max = ops.Impl.MaxAccessSize == 0 ? 4 : ops.Impl.MaxAccessSize;
            if (size >= min && size <= max)
            {
                // One piece of exactly the size asked for: the common case.
                if (isWrite)
                {
                    value = 0;
                    return CallWrite(ops, address, writeValue, size, attrs);
                }
                MemTxResult single = CallRead(ops, address, out ulong piece, size, attrs);
                value = size >= 8 ? piece : piece & ((1UL << (int)(size * 8)) - 1);
                return single;
            }
            return Pieces(mr, address, out value, size, isWrite, attrs, writeValue);
        }
        return GuardedAccess(mr, address, out value, size, isWrite, attrs, writeValue);
    }

    private static MemTxResult GuardedAccess(MemoryRegion mr, ulong address, out ulong value, uint size, bool isWrite, MemTxAttrs attrs, ulong writeValue)
    {
        if (!ReentrancyGuard.TryEnter(ReentrancyGuard.Key(mr)))
        {
            mr.WarnReentrancyOnce(address);
            value = 0;
            return MemTxResult.AccessError;
        }
        try
        {
            return Pieces(mr, address, out value, size, isWrite, attrs, writeValue);
        }
        finally
        {
            ReentrancyGuard.Exit();
        }
    }

    private static MemTxResult Pieces(MemoryRegion mr, ulong address, out ulong value, uint size, bool isWrite, MemTxAttrs attrs, ulong writeValue)
    {
        value = 0;
        MemoryRegionOps ops = mr.Ops;
        uint min = ops.Impl.MinAccessSize == 0 ? 1 : ops.Impl.MinAccessSize;
        uint max = ops.Impl.MaxAccessSize == 0 ? 4 : ops.Impl.MaxAccessSize;
        uint accessSize = Math.Max(Math.Min(size, max), min);
        ulong mask = accessSize >= 8 ? ulong.MaxValue : (1UL << (int)(accessSize * 8)) - 1;
        if (accessSize == size)
        {
            // One piece, the common case.
            if (isWrite)
            {
                return CallWrite(ops, address, writeValue & mask, size, attrs);
            }
            MemTxResult single = CallRead(ops, address, out ulong piece, size, attrs);
            value = piece & mask;
            return single;
        }
        bool big = ops.Endianness == DeviceEndianness.Big;
        MemTxResult r = MemTxResult.Ok;
        for (uint i = 0; i < size; i += accessSize)
        {
            int shift = big ? (int)(size - accessSize - i) * 8 : (int)i * 8;
            ulong at = address + i;
            if (isWrite)
            {
                ulong piece = (shift >= 0 ? writeValue >> shift : writeValue << -shift) & mask;
                r |= CallWrite(ops, at, piece, accessSize, attrs);
            }
            else
            {
                r |= CallRead(ops, at, out ulong piece, accessSize, attrs);
                piece &= mask;
                value |= shift >= 0 ? piece << shift : piece >> -shift;
            }
        }
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MemTxResult CallRead(MemoryRegionOps ops, ulong address, out ulong value, uint size, MemTxAttrs attrs)
    {
        if (ops.Read is { } read)
        {
            value = read(address, size);
            return MemTxResult.Ok;
        }
        if (ops.ReadWithAttrs is { } readWithAttrs)
        {
            return readWithAttrs(address, out value, size, attrs);
        }
        // A device without a read callback (QEMU would crash here; CVE-2020-15469): reads as 0.
        value = 0;
        return MemTxResult.Ok;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static MemTxResult CallWrite(MemoryRegionOps ops, ulong address, ulong value, uint size, MemTxAttrs attrs)
    {
        if (ops.Write is { } write)
        {
            write(address, value, size);
            return MemTxResult.Ok;
        }
        if (ops.WriteWithAttrs is { } writeWithAttrs)
        {
            return writeWithAttrs(address, value, size, attrs);
        }
        // A device without a write callback: the write is dropped.
        return MemTxResult.Ok;
    }
}
