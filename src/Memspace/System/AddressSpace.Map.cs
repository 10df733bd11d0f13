using System.Runtime.InteropServices;
using Memspace.Core;
using Memspace.Dispatch;

namespace Memspace;

/// <summary>
/// DMA mappings (QEMU's <c>address_space_map</c>/<c>_unmap</c>): a host pointer straight into RAM,
/// or a bounce buffer for anything else, limited per address space.
/// </summary>
public sealed partial class AddressSpace
{
    private readonly Lock _mapClientsLock = new();
    private readonly List<Action> _mapClients = [];
    private long _bounceInUse;

    /// <summary>Bytes of bounce buffer the address space hands out at once (QEMU's <c>max_bounce_buffer_size</c>, default 4096).</summary>
    public ulong MaxBounceBufferSize { get; set; } = 4096;

    /// <summary>Bytes of bounce buffer currently handed out.</summary>
    public ulong BounceBufferInUse => (ulong)Volatile.Read(ref _bounceInUse);

    /// <summary>
    /// Maps up to <paramref name="length"/> bytes at <paramref name="address"/> for DMA. RAM is mapped
    /// directly, across adjacent ranges of the same region with contiguous offsets; anything else
    /// gets a bounce buffer (filled by a read for read mappings) of at most the space left under
    /// <see cref="MaxBounceBufferSize"/>. Returns null when nothing can be mapped now (length 0, or no
    /// bounce space: see <see cref="RegisterMapClient"/>).
    /// </summary>
    /// <param name="address">Guest address.</param>
    /// <param name="length">Bytes wanted.</param>
    /// <param name="isWrite">Whether the device will write (true) or read.</param>
    /// <param name="attrs">Transaction attributes.</param>
    public MappedMemory? Map(ulong address, ulong length, bool isWrite, MemTxAttrs attrs)
    {
        if (length == 0)
        {
            return null;
        }
        using Rcu.ReadSection rcu = Rcu.Read();
        DispatchTable view = Dispatch;
        ref readonly DispatchEntry e = ref view.EntryFor(address);
        if (e.Region is not null)
        {
            bool direct = isWrite ? e.DirectWrite(attrs) : e.DirectRead;
            if (direct && e.Block is { } block && !(attrs.Memory && !e.Region.IsRam))
            {
                ulong offset = e.OffsetInRegion + (address - e.Start);
                ulong mapped = ExtendTranslation(view, in e, address, length, isWrite, attrs);
                // Never past the block's used length (QEMU's qemu_ram_ptr_length).
                mapped = Math.Min(mapped, block.UsedLength - Math.Min(offset, block.UsedLength));
                if (mapped == 0)
                {
                    return null;
                }
                block.AddMapping();
                return new MappedMemory(this, address, block.Host + (nint)offset, mapped, isWrite, attrs, e.Region, offset, block);
            }
        }
        ulong toEnd = e.LastOffset - (address - e.Start);
        ulong grant = ReserveBounce(e.Region is { IsRam: true } && toEnd < length - 1 ? toEnd + 1 : length);
        if (grant == 0)
        {
            return null;
        }
        nint buffer = AllocateBounce(grant);
        var mapping = new MappedMemory(this, address, buffer, grant, isWrite, attrs, null, 0, null);
        if (!isWrite)
        {
            ReadIn(view, address, mapping.AsSpan(), attrs);
        }
        return mapping;
    }

    /// <summary>
    /// Ends a mapping (<c>address_space_unmap</c>). For a write mapping, the first
    /// <paramref name="accessLength"/> bytes were written by the device: RAM is marked dirty, a bounce
    /// buffer is written to the guest. A freed bounce buffer wakes the registered map clients.
    /// </summary>
    /// <param name="mapping">What <see cref="Map"/> returned.</param>
    /// <param name="accessLength">How many bytes the device actually accessed.</param>
    public void Unmap(MappedMemory mapping, ulong accessLength)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        if (mapping.AddressSpace != this)
        {
            throw new ArgumentException($"the mapping belongs to address space '{mapping.AddressSpace.Name}'", nameof(mapping));
        }
        if (mapping.IsUnmapped)
        {
            throw new InvalidOperationException("the mapping has already been unmapped");
        }
        accessLength = Math.Min(accessLength, mapping.Length);
        mapping.IsUnmapped = true;
        if (mapping.Block is { } block)
        {
            if (mapping.IsWrite && accessLength > 0)
            {
                byte mask = mapping.Region!.DirtyLogMask;
                if (mask != 0)
                {
                    System.RamList.Dirty.SetDirty(block.Offset + mapping.OffsetInRegion, accessLength, mask);
                }
            }
            block.RemoveMapping();
            return;
        }
        if (mapping.IsWrite && accessLength > 0)
        {
            Write(mapping.Address, mapping.BounceBytes((int)accessLength), mapping.Attrs);
        }
        FreeBounce(mapping.HostPointer);
        Interlocked.Add(ref _bounceInUse, -(long)mapping.Length);
        NotifyMapClients();
    }

    /// <summary>
    /// Asks to be called once when bounce space frees up (<c>address_space_register_map_client</c>); if
    /// none is in use, <paramref name="client"/> is called at once.
    /// </summary>
    /// <param name="client">Called once, on the thread that frees the buffer.</param>
    public void RegisterMapClient(Action client)
    {
        ArgumentNullException.ThrowIfNull(client);
        lock (_mapClientsLock)
        {
            _mapClients.Add(client);
        }
        if (BounceBufferInUse == 0)
        {
            NotifyMapClients();
        }
    }

    /// <summary>Withdraws a client registered with <see cref="RegisterMapClient"/>.</summary>
    /// <param name="client">The client.</param>
    public void UnregisterMapClient(Action client)
    {
        lock (_mapClientsLock)
        {
            _mapClients.Remove(client);
        }
    }

    private void NotifyMapClients()
    {
        Action[] clients;
        lock (_mapClientsLock)
        {
            clients = [.. _mapClients];
            _mapClients.Clear();
        }
        foreach (Action c in clients)
        {
            c();
        }
    }

    // SAFETY: allocates native memory that only the MappedMemory made from it refers to; freed once, by Unmap.
    private static unsafe nint AllocateBounce(ulong length) => (nint)NativeMemory.AllocZeroed((nuint)length);

    // SAFETY: pointer came from AllocateBounce and Unmap marks its mapping unmapped before calling this, so it is freed once.
    private static unsafe void FreeBounce(nint pointer) => NativeMemory.Free((void*)pointer);

    private ulong ReserveBounce(ulong wanted)
    {
        long used = Volatile.Read(ref _bounceInUse);
        while (true)
        {
            ulong free = MaxBounceBufferSize > (ulong)used ? MaxBounceBufferSize - (ulong)used : 0;
            ulong grant = Math.Min(free, wanted);
            if (grant == 0)
            {
                return 0;
            }
            long seen = Interlocked.CompareExchange(ref _bounceInUse, used + (long)grant, used);
            if (seen == used)
            {
                return grant;
            }
            used = seen;
        }
    }

    /// <summary>
    /// QEMU's <c>flatview_extend_translation</c>: how far a direct mapping that starts in the range of
    /// <paramref name="first"/> can go while the next ranges continue the same region at contiguous offsets.
    /// </summary>
    private static ulong ExtendTranslation(DispatchTable view, in DispatchEntry first, ulong address, ulong length, bool isWrite, MemTxAttrs attrs)
    {
        ulong toEnd = first.LastOffset - (address - first.Start);
        ulong done = toEnd < length - 1 ? toEnd + 1 : length;
        ulong nextOffset = first.OffsetInRegion + (address - first.Start) + done;
        ref readonly DispatchEntry e = ref view.Next(in first);
        while (done < length && e.Region is not null)
        {
            bool direct = isWrite ? e.DirectWrite(attrs) : e.DirectRead;
            if (e.Region != first.Region || e.OffsetInRegion != nextOffset || !direct)
            {
                break;
            }
            ulong take = e.LastOffset < length - done - 1 ? e.LastOffset + 1 : length - done;
            done += take;
            nextOffset += take;
            e = ref view.Next(in e);
        }
        return done;
    }
}
