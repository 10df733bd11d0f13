using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Memspace.Core;
using Memspace.Dispatch;
using Memspace.Regions;

namespace Memspace;

/// <summary>
/// Guest accesses through an address space (QEMU's <c>address_space_read</c>, <c>_write</c>,
/// <c>_ld*</c>/<c>_st*</c>, <c>_write_rom</c>, <c>_set</c>, <c>_access_valid</c>): routed to host
/// memory or to device callbacks with QEMU's access rules, without taking a lock.
/// </summary>
/// <remarks>
/// <para>
/// Every access runs inside an <see cref="Rcu"/> read section on the view current when it starts,
/// so a concurrent commit never changes the ranges under it and freed RAM stays mapped until it ends.
/// </para>
/// <para>
/// Any address, size and sequence gets a defined result: nothing mapped reads 0 with
/// <see cref="MemTxResult.DecodeError"/>; a device that rejects an access gets no call and the same
/// result; writes to read-only ranges are dropped with <see cref="MemTxResult.DecodeError"/> unless the
/// access is a debug one; <see cref="MemTxAttrs.Memory"/> accesses that reach a device fail with
/// <see cref="MemTxResult.AccessError"/>. Accesses that run past 2^64 wrap to 0, as in QEMU.
/// </para>
/// </remarks>
public sealed partial class AddressSpace
{
    /// <summary>Reads <paramref name="buffer"/>.Length bytes at <paramref name="address"/> (<c>address_space_read</c>).</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="buffer">Where the bytes go.</param>
    /// <param name="attrs">Transaction attributes.</param>
    public MemTxResult Read(ulong address, Span<byte> buffer, MemTxAttrs attrs) => Read(DispatchReader.Current, address, buffer, attrs);

    /// <summary>A read through <paramref name="reader"/>'s translation cache and read section.</summary>
    internal MemTxResult Read(DispatchReader reader, ulong address, Span<byte> buffer, MemTxAttrs attrs)
    {
        Rcu.Enter(reader.Rcu);
        try
        {
            DispatchTable table = Dispatch;
            ref DispatchReader.Translation t = ref reader.Last;
            ulong offset = t.OffsetOf(address, (ulong)buffer.Length);
            if (offset == ulong.MaxValue || t.Table != table.Id)
            {
                t = ref reader.SlotFor(address);
                offset = t.OffsetOf(address, (ulong)buffer.Length);
            }
            if (t.Table == table.Id && t.Readable && offset != ulong.MaxValue && !attrs.Memory && buffer.Length > 0)
            {
                // SAFETY: the translation is of the current table and covers [address, + length)
                // (OffsetOf); the read section keeps its RAM mapped.
                unsafe
                {
                    new ReadOnlySpan<byte>((void*)(t.Host + (nint)offset), buffer.Length).CopyTo(buffer);
                }
                return MemTxResult.Ok;
            }
            return ReadIn(table, address, buffer, attrs, reader);
        }
        finally
        {
            Rcu.Exit(reader.Rcu);
        }
    }

    /// <summary>Reads with unspecified attributes.</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="buffer">Where the bytes go.</param>
    public MemTxResult Read(ulong address, Span<byte> buffer) => Read(address, buffer, MemTxAttrs.UnspecifiedAttrs);

    /// <summary><see cref="Read(ulong, Span{byte}, MemTxAttrs)"/> without the thread's translation cache (the reference the fast path is tested against).</summary>
    internal MemTxResult ReadSlow(ulong address, Span<byte> buffer, MemTxAttrs attrs)
    {
        using Rcu.ReadSection rcu = Rcu.Read();
        return ReadIn(Dispatch, address, buffer, attrs);
    }

    /// <summary>Writes <paramref name="buffer"/> at <paramref name="address"/> (<c>address_space_write</c>); RAM written is marked dirty.</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="buffer">The bytes.</param>
    /// <param name="attrs">Transaction attributes.</param>
    public MemTxResult Write(ulong address, ReadOnlySpan<byte> buffer, MemTxAttrs attrs) => Write(DispatchReader.Current, address, buffer, attrs);

    /// <summary>A write through <paramref name="reader"/>'s translation cache and read section.</summary>
    internal MemTxResult Write(DispatchReader reader, ulong address, ReadOnlySpan<byte> buffer, MemTxAttrs attrs)
    {
        Rcu.Enter(reader.Rcu);
        try
        {
            DispatchTable table = Dispatch;
            ref DispatchReader.Translation t = ref reader.Last;
            ulong offset = t.OffsetOf(address, (ulong)buffer.Length);
            if (offset == ulong.MaxValue || t.Table != table.Id)
            {
                t = ref reader.SlotFor(address);
                offset = t.OffsetOf(address, (ulong)buffer.Length);
            }
            if (t.Table == table.Id && t.Writable && offset != ulong.MaxValue && !attrs.Memory && buffer.Length > 0)
            {
                // SAFETY: as in Read; Writable translations are of writable RAM that logs no dirty pages.
                unsafe
                {
                    buffer.CopyTo(new Span<byte>((void*)(t.Host + (nint)offset), buffer.Length));
                }
                return MemTxResult.Ok;
            }
            return WriteIn(table, address, buffer, attrs, reader);
        }
        finally
        {
            Rcu.Exit(reader.Rcu);
        }
    }

    /// <summary>Writes with unspecified attributes.</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="buffer">The bytes.</param>
    public MemTxResult Write(ulong address, ReadOnlySpan<byte> buffer) => Write(address, buffer, MemTxAttrs.UnspecifiedAttrs);

    /// <summary>
    /// Writes like a ROM loader (<c>address_space_write_rom</c>): RAM, ROM and ROM devices are written
    /// directly, read-only or not; devices are skipped. Always <see cref="MemTxResult.Ok"/>.
    /// </summary>
    /// <param name="address">Guest address.</param>
    /// <param name="buffer">The bytes.</param>
    /// <param name="attrs">Transaction attributes.</param>
    public MemTxResult WriteRom(ulong address, ReadOnlySpan<byte> buffer, MemTxAttrs attrs)
    {
        using Rcu.ReadSection rcu = Rcu.Read();
        DispatchTable view = Dispatch;
        int pos = 0;
        while (pos < buffer.Length)
        {
            ulong a = address + (ulong)pos;
            int remaining = buffer.Length - pos;
            ref readonly DispatchEntry e = ref view.EntryFor(a);
            if (e.Region is null)
            {
                pos += GapLength(view, a, remaining);
                continue;
            }
            int n = ClampToRange(in e, a, remaining);
            if (e.RomLoadable)
            {
                CopyToHost(in e, a, buffer.Slice(pos, n));
            }
            pos += n;
        }
        return MemTxResult.Ok;
    }

    /// <summary>Fills <paramref name="length"/> bytes at <paramref name="address"/> with <paramref name="value"/> (<c>address_space_set</c>).</summary>
    /// <param name="address">Guest address.</param>
    /// <param name="value">The byte.</param>
    /// <param name="length">Number of bytes.</param>
    /// <param name="attrs">Transaction attributes.</param>
    public MemTxResult Set(ulong address, byte value, ulong length, MemTxAttrs attrs)
    {
        Span<byte> fill = stackalloc byte[512];
        fill.Fill(value);
        MemTxResult r = MemTxResult.Ok;
        while (length > 0)
        {
            int n = (int)Math.Min(length, 512);
            r |= Write(address, fill[..n], attrs);
            address += (ulong)n;
            length -= (ulong)n;
        }
        return r;
    }

    /// <summary>
    /// Whether an access of <paramref name="length"/> bytes would be accepted everywhere it goes
    /// (<c>address_space_access_valid</c>): devices are asked with the pieces a real access would use.
    /// </summary>
    /// <param name="address">Guest address.</param>
    /// <param name="length">Length.</param>
    /// <param name="isWrite">Write (true) or read.</param>
    /// <param name="attrs">Transaction attributes.</param>
    public bool AccessValid(ulong address, ulong length, bool isWrite, MemTxAttrs attrs)
    {
        using Rcu.ReadSection rcu = Rcu.Read();
        DispatchTable view = Dispatch;
        ulong done = 0;
        while (done < length)
        {
            ulong a = address + done;
            ulong remaining = length - done;
            ref readonly DispatchEntry e = ref view.EntryFor(a);
            if (e.Region is null)
            {
                return false;
            }
            bool direct = isWrite ? e.DirectWrite(attrs) : e.DirectRead;
            ulong xlat = e.OffsetInRegion + (a - e.Start);
            ulong toEnd = e.LastOffset - (a - e.Start);
            ulong l;
            if (direct)
            {
                l = toEnd >= remaining - 1 ? remaining : toEnd + 1;
            }
            else
            {
                l = MmioDispatch.AccessSize(e.Region, e.Region.IsRam && toEnd < remaining - 1 ? toEnd + 1 : remaining, xlat);
                if (!MmioDispatch.AccessValid(e.Region, xlat, (uint)l, isWrite, attrs))
                {
                    return false;
                }
            }
            done += l;
        }
        return true;
    }

    /// <summary>Reads a byte (<c>address_space_ldub</c>).</summary>
    public byte LoadU8(ulong address, out MemTxResult result, MemTxAttrs attrs) => (byte)Load(address, 1, false, out result, attrs);

    /// <summary>Reads a little-endian 16-bit value (<c>address_space_lduw_le</c>).</summary>
    public ushort LoadU16Le(ulong address, out MemTxResult result, MemTxAttrs attrs) => (ushort)Load(address, 2, false, out result, attrs);

    /// <summary>Reads a big-endian 16-bit value (<c>address_space_lduw_be</c>).</summary>
    public ushort LoadU16Be(ulong address, out MemTxResult result, MemTxAttrs attrs) => (ushort)Load(address, 2, true, out result, attrs);

    /// <summary>Reads a little-endian 32-bit value (<c>address_space_ldl_le</c>).</summary>
    public uint LoadU32Le(ulong address, out MemTxResult result, MemTxAttrs attrs) => (uint)Load(address, 4, false, out result, attrs);

    /// <summary>Reads a big-endian 32-bit value (<c>address_space_ldl_be</c>).</summary>
    public uint LoadU32Be(ulong address, out MemTxResult result, MemTxAttrs attrs) => (uint)Load(address, 4, true, out result, attrs);

    /// <summary>Reads a little-endian 64-bit value (<c>address_space_ldq_le</c>).</summary>
    public ulong LoadU64Le(ulong address, out MemTxResult result, MemTxAttrs attrs) => Load(address, 8, false, out result, attrs);

    /// <summary>Reads a big-endian 64-bit value (<c>address_space_ldq_be</c>).</summary>
    public ulong LoadU64Be(ulong address, out MemTxResult result, MemTxAttrs attrs) => Load(address, 8, true, out result, attrs);

    /// <summary>Writes a byte (<c>address_space_stb</c>).</summary>
    public MemTxResult StoreU8(ulong address, byte value, MemTxAttrs attrs) => Store(address, value, 1, false, attrs);

    /// <summary>Writes a little-endian 16-bit value (<c>address_space_stw_le</c>).</summary>
    public MemTxResult StoreU16Le(ulong address, ushort value, MemTxAttrs attrs) => Store(address, value, 2, false, attrs);

    /// <summary>Writes a big-endian 16-bit value (<c>address_space_stw_be</c>).</summary>
    public MemTxResult StoreU16Be(ulong address, ushort value, MemTxAttrs attrs) => Store(address, value, 2, true, attrs);

    /// <summary>Writes a little-endian 32-bit value (<c>address_space_stl_le</c>).</summary>
    public MemTxResult StoreU32Le(ulong address, uint value, MemTxAttrs attrs) => Store(address, value, 4, false, attrs);

    /// <summary>Writes a big-endian 32-bit value (<c>address_space_stl_be</c>).</summary>
    public MemTxResult StoreU32Be(ulong address, uint value, MemTxAttrs attrs) => Store(address, value, 4, true, attrs);

    /// <summary>Writes a little-endian 64-bit value (<c>address_space_stq_le</c>).</summary>
    public MemTxResult StoreU64Le(ulong address, ulong value, MemTxAttrs attrs) => Store(address, value, 8, false, attrs);

    /// <summary>Writes a big-endian 64-bit value (<c>address_space_stq_be</c>).</summary>
    public MemTxResult StoreU64Be(ulong address, ulong value, MemTxAttrs attrs) => Store(address, value, 8, true, attrs);

    /// <summary>
    /// A load of 1, 2, 4 or 8 bytes: straight from host memory when the whole value lies in one
    /// directly readable range, otherwise one device access of the full width (so a value that
    /// straddles the end of RAM is refused by the RAM region, as in QEMU). The fast path runs in a
    /// read section without a try block (nothing in it can throw) so that it inlines; everything else
    /// goes to <see cref="LoadSlow"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Load(ulong address, uint size, bool bigEndian, out MemTxResult result, MemTxAttrs attrs)
        => Load(DispatchReader.Current, address, size, bigEndian, out result, attrs);

    /// <summary>A load through <paramref name="reader"/>'s translation cache and read section.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Load(DispatchReader reader, ulong address, uint size, bool bigEndian, out MemTxResult result, MemTxAttrs attrs)
    {
        Rcu.ReaderRecord rcu = reader.Rcu;
        Rcu.Enter(rcu);
        DispatchTable table = Dispatch;
        ref DispatchReader.Translation t = ref reader.Last;
        ulong cached = t.OffsetOf(address, size);
        if (cached == ulong.MaxValue || t.Table != table.Id)
        {
            t = ref reader.SlotFor(address);
            cached = t.OffsetOf(address, size);
        }
        if (t.Table == table.Id && t.Readable && cached != ulong.MaxValue && !attrs.Memory)
        {
            ulong v;
            // SAFETY: the translation is of the current table and covers [address, + size); the
            // read section keeps its RAM mapped until Exit.
            unsafe
            {
                v = HostAccess.Load((byte*)(t.Host + (nint)cached), size);
            }
            Rcu.Exit(rcu);
            result = MemTxResult.Ok;
            return bigEndian ? Swap(v, size) : v;
        }
        return LoadMiss(reader, table, address, size, bigEndian, out result, attrs);
    }

    /// <summary>A load the thread's translation cache could not serve, inside the caller's read section, which it ends.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong LoadMiss(DispatchReader reader, DispatchTable table, ulong address, uint size, bool bigEndian, out MemTxResult result, MemTxAttrs attrs)
    {
        Rcu.ReaderRecord rcu = reader.Rcu;
        ref readonly DispatchEntry e = ref table.EntryFor(address);
        reader.Fill(table, address, e);
        ulong offset = address - e.Start;
        if (e.DirectRead && e.LastOffset - offset >= size - 1 && !attrs.Memory)
        {
            ulong v;
            // SAFETY: DirectRead entries have host memory for the whole range; offset + size - 1 is
            // inside it (checked above), and the RCU read section keeps the block mapped until Exit.
            unsafe
            {
                v = HostAccess.Load((byte*)(e.Host + (nint)offset), size);
            }
            Rcu.Exit(rcu);
            result = MemTxResult.Ok;
            return bigEndian ? Swap(v, size) : v;
        }
        if (e.Region is { } mr && !e.DirectRead && !attrs.Memory)
        {
            return LoadDevice(rcu, mr, e.OffsetInRegion + offset, size, bigEndian, out result, attrs);
        }
        Rcu.Exit(rcu);
        return LoadSlow(address, size, bigEndian, out result, attrs);
    }

    /// <summary>A device load inside the caller's read section, which it ends (callbacks may throw).</summary>
    private static ulong LoadDevice(Rcu.ReaderRecord rcu, MemoryRegion mr, ulong offset, uint size, bool bigEndian, out MemTxResult result, MemTxAttrs attrs)
    {
        try
        {
            result = MmioDispatch.Read(mr, offset, out ulong value, size, bigEndian, attrs);
            return value;
        }
        finally
        {
            Rcu.Exit(rcu);
        }
    }

    internal ulong LoadSlow(ulong address, uint size, bool bigEndian, out MemTxResult result, MemTxAttrs attrs)
    {
        using Rcu.ReadSection rcu = Rcu.Read();
        DispatchTable view = Dispatch;
        ref readonly DispatchEntry e = ref view.EntryFor(address);
        if (e.Region is null)
        {
            result = Unassigned(address, size, false);
            return 0;
        }
        ulong offset = address - e.Start;
        if (attrs.Memory && !e.Region.IsRam)
        {
            result = MemoryOnlyRefused(e.Region, address);
            return 0;
        }
        if (e.DirectRead && e.LastOffset - offset >= size - 1)
        {
            // The view changed between the fast path and here: read through the new one.
            Span<byte> bytes = stackalloc byte[8];
            bytes.Clear();
            CopyFromHost(in e, offset, bytes[..(int)size]);
            result = MemTxResult.Ok;
            ulong v = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            return bigEndian ? Swap(v, size) : v;
        }
        result = MmioDispatch.Read(e.Region, e.OffsetInRegion + offset, out ulong value, size, bigEndian, attrs);
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private MemTxResult Store(ulong address, ulong value, uint size, bool bigEndian, MemTxAttrs attrs)
        => Store(DispatchReader.Current, address, value, size, bigEndian, attrs);

    /// <summary>A store through <paramref name="reader"/>'s translation cache and read section.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal MemTxResult Store(DispatchReader reader, ulong address, ulong value, uint size, bool bigEndian, MemTxAttrs attrs)
    {
        Rcu.ReaderRecord rcu = reader.Rcu;
        Rcu.Enter(rcu);
        DispatchTable table = Dispatch;
        ref DispatchReader.Translation t = ref reader.Last;
        ulong cached = t.OffsetOf(address, size);
        if (cached == ulong.MaxValue || t.Table != table.Id)
        {
            t = ref reader.SlotFor(address);
            cached = t.OffsetOf(address, size);
        }
        if (t.Table == table.Id && t.Writable && cached != ulong.MaxValue && !attrs.Memory)
        {
            ulong v = bigEndian ? Swap(value, size) : value;
            // SAFETY: the translation is of the current table, covers [address, + size) and is of
            // writable RAM; the read section keeps it mapped until Exit.
            unsafe
            {
                HostAccess.Store((byte*)(t.Host + (nint)cached), v, size);
            }
            Rcu.Exit(rcu);
            return MemTxResult.Ok;
        }
        return StoreMiss(reader, table, address, value, size, bigEndian, attrs);
    }

    /// <summary>A store the thread's translation cache could not serve, inside the caller's read section, which it ends.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private MemTxResult StoreMiss(DispatchReader reader, DispatchTable table, ulong address, ulong value, uint size, bool bigEndian, MemTxAttrs attrs)
    {
        Rcu.ReaderRecord rcu = reader.Rcu;
        ref readonly DispatchEntry e = ref table.EntryFor(address);
        reader.Fill(table, address, e);
        ulong offset = address - e.Start;
        if (e.DirectWritable && e.LastOffset - offset >= size - 1 && e.DirtyMask == 0)
        {
            ulong v = bigEndian ? Swap(value, size) : value;
            // SAFETY: DirectWritable entries have writable host memory for the whole range; offset +
            // size - 1 is inside it (checked above), and the RCU read section keeps it mapped until Exit.
            unsafe
            {
                HostAccess.Store((byte*)(e.Host + (nint)offset), v, size);
            }
            Rcu.Exit(rcu);
            return MemTxResult.Ok;
        }
        if (e.Region is { } mr && !e.RamWritable && !attrs.Memory)
        {
            return StoreDevice(rcu, mr, e.OffsetInRegion + offset, value, size, bigEndian, attrs);
        }
        Rcu.Exit(rcu);
        return StoreSlow(address, value, size, bigEndian, attrs);
    }

    /// <summary>A device store inside the caller's read section, which it ends (callbacks may throw).</summary>
    private static MemTxResult StoreDevice(Rcu.ReaderRecord rcu, MemoryRegion mr, ulong offset, ulong value, uint size, bool bigEndian, MemTxAttrs attrs)
    {
        try
        {
            return MmioDispatch.Write(mr, offset, value, size, bigEndian, attrs);
        }
        finally
        {
            Rcu.Exit(rcu);
        }
    }

    internal MemTxResult StoreSlow(ulong address, ulong value, uint size, bool bigEndian, MemTxAttrs attrs)
    {
        using Rcu.ReadSection rcu = Rcu.Read();
        DispatchTable view = Dispatch;
        ref readonly DispatchEntry e = ref view.EntryFor(address);
        if (e.Region is null)
        {
            return Unassigned(address, size, true);
        }
        ulong offset = address - e.Start;
        if (attrs.Memory && !e.Region.IsRam)
        {
            return MemoryOnlyRefused(e.Region, address);
        }
        if (e.DirectWrite(attrs) && e.LastOffset - offset >= size - 1)
        {
            // RAM that logs dirty pages, or a debug write into read-only RAM.
            ulong v = bigEndian ? Swap(value, size) : value;
            // SAFETY: the entry has writable host memory for the whole range, offset + size - 1 is
            // inside it (checked above), and the caller's RCU read section keeps it mapped.
            unsafe
            {
                HostAccess.Store((byte*)(e.Host + (nint)offset), v, size);
            }
            MarkDirty(in e, offset, size);
            return MemTxResult.Ok;
        }
        return MmioDispatch.Write(e.Region, e.OffsetInRegion + offset, value, size, bigEndian, attrs);
    }

    private static ulong Swap(ulong v, uint size) => size switch
    {
        2 => BinaryPrimitives.ReverseEndianness((ushort)v),
        4 => BinaryPrimitives.ReverseEndianness((uint)v),
        8 => BinaryPrimitives.ReverseEndianness(v),
        _ => v,
    };

    /// <summary>QEMU's <c>flatview_read_continue</c>.</summary>
    internal MemTxResult ReadIn(DispatchTable view, ulong address, Span<byte> buffer, MemTxAttrs attrs, DispatchReader? reader = null)
    {
        MemTxResult result = MemTxResult.Ok;
        Span<byte> bytes = stackalloc byte[8];
        int pos = 0;
        while (pos < buffer.Length)
        {
            ulong a = address + (ulong)pos;
            int remaining = buffer.Length - pos;
            ref readonly DispatchEntry e = ref view.EntryFor(a);
            reader?.Fill(view, a, e);
            if (e.Region is null)
            {
                int gap = GapLength(view, a, remaining);
                buffer.Slice(pos, gap).Clear();
                result |= Unassigned(a, (uint)Math.Min(gap, 4), false);
                pos += gap;
                continue;
            }
            ulong offset = a - e.Start;
            if (attrs.Memory && !e.Region.IsRam)
            {
                // QEMU skips what the device would have covered and keeps going.
                result |= MemoryOnlyRefused(e.Region, a);
                pos += remaining;
                continue;
            }
            if (e.DirectRead)
            {
                int n = ClampToRange(in e, a, remaining);
                CopyFromHost(in e, offset, buffer.Slice(pos, n));
                pos += n;
                continue;
            }
            ulong available = e.Region.IsRam ? (ulong)ClampToRange(in e, a, remaining) : (ulong)remaining;
            uint l = MmioDispatch.AccessSize(e.Region, available, e.OffsetInRegion + offset);
            result |= MmioDispatch.Read(e.Region, e.OffsetInRegion + offset, out ulong value, l, false, attrs);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
            bytes[..(int)l].CopyTo(buffer.Slice(pos, (int)l));
            pos += (int)l;
        }
        return result;
    }

    /// <summary>QEMU's <c>flatview_write_continue</c>.</summary>
    internal MemTxResult WriteIn(DispatchTable view, ulong address, ReadOnlySpan<byte> buffer, MemTxAttrs attrs, DispatchReader? reader = null)
    {
        MemTxResult result = MemTxResult.Ok;
        Span<byte> bytes = stackalloc byte[8];
        int pos = 0;
        while (pos < buffer.Length)
        {
            ulong a = address + (ulong)pos;
            int remaining = buffer.Length - pos;
            ref readonly DispatchEntry e = ref view.EntryFor(a);
            reader?.Fill(view, a, e);
            if (e.Region is null)
            {
                int gap = GapLength(view, a, remaining);
                result |= Unassigned(a, (uint)Math.Min(gap, 4), true);
                pos += gap;
                continue;
            }
            ulong offset = a - e.Start;
            if (attrs.Memory && !e.Region.IsRam)
            {
                result |= MemoryOnlyRefused(e.Region, a);
                pos += remaining;
                continue;
            }
            if (e.DirectWrite(attrs))
            {
                int n = ClampToRange(in e, a, remaining);
                CopyToHost(in e, a, buffer.Slice(pos, n));
                pos += n;
                continue;
            }
            ulong available = e.Region.IsRam ? (ulong)ClampToRange(in e, a, remaining) : (ulong)remaining;
            uint l = MmioDispatch.AccessSize(e.Region, available, e.OffsetInRegion + offset);
            bytes.Clear();
            buffer.Slice(pos, (int)l).CopyTo(bytes);
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            result |= MmioDispatch.Write(e.Region, e.OffsetInRegion + offset, value, l, false, attrs);
            pos += (int)l;
        }
        return result;
    }

    /// <summary>Bytes from <paramref name="a"/> to the end of the range of <paramref name="e"/>, at most <paramref name="remaining"/>.</summary>
    private static int ClampToRange(in DispatchEntry e, ulong a, int remaining)
    {
        ulong left = e.LastOffset - (a - e.Start);
        return left >= (ulong)(remaining - 1) ? remaining : (int)left + 1;
    }

    /// <summary>Bytes from <paramref name="a"/> to the next range (nothing is mapped there), at most <paramref name="remaining"/>.</summary>
    private static int GapLength(DispatchTable view, ulong a, int remaining)
    {
        if (view.NextStart(a) is { } next)
        {
            ulong gap = next - a;
            return gap < (ulong)remaining ? (int)gap : remaining;
        }
        // Nothing above: up to 2^64, where the access wraps to address 0.
        ulong toTop = ulong.MaxValue - a;
        return toTop < (ulong)(remaining - 1) ? (int)toTop + 1 : remaining;
    }

    private MemTxResult Unassigned(ulong address, uint size, bool isWrite)
    {
        if (System.GuestErrorsEnabled)
        {
            System.ReportGuestError($"Invalid {(isWrite ? "write" : "read")} at addr 0x{address:X}, size {size}, region 'unassigned' in address space '{Name}', reason: rejected");
        }
        return MemTxResult.DecodeError;
    }

    private MemTxResult MemoryOnlyRefused(MemoryRegion mr, ulong address)
    {
        if (System.GuestErrorsEnabled)
        {
            System.ReportGuestError($"Invalid access to non-RAM device at addr 0x{address:X}, region '{mr.Name}'");
        }
        return MemTxResult.AccessError;
    }

    // SAFETY: callers pass an entry with host memory and an offset and length that stay inside its
    // range (ClampToRange); they hold an RCU read section, which keeps the block mapped.
    private static unsafe void CopyFromHost(in DispatchEntry e, ulong offset, Span<byte> destination)
        => new ReadOnlySpan<byte>((void*)(e.Host + (nint)offset), destination.Length).CopyTo(destination);

    // SAFETY: as CopyFromHost, for an entry whose host memory may be written (RomLoadable or DirectWrite).
    private unsafe void CopyToHost(in DispatchEntry e, ulong a, ReadOnlySpan<byte> source)
    {
        ulong offset = a - e.Start;
        source.CopyTo(new Span<byte>((void*)(e.Host + (nint)offset), source.Length));
        MarkDirty(in e, offset, (ulong)source.Length);
    }

    /// <summary>QEMU's <c>invalidate_and_set_dirty</c>: marks the bytes dirty for the clients logging the range.</summary>
    private void MarkDirty(in DispatchEntry e, ulong offset, ulong length)
    {
        if (e.DirtyMask != 0)
        {
            System.RamList.Dirty.SetDirty(e.RamAddr + offset, length, e.DirtyMask);
        }
    }
}
