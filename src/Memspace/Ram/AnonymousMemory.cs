using Memspace.Interop;

namespace Memspace.Ram;

/// <summary>Anonymous memory: private (discard with MADV_DONTNEED) or shared (MADV_REMOVE).</summary>
internal sealed class AnonymousMemory : HostMemory
{
    private AnonymousMemory(nint pointer, ulong length, ulong pageSize, bool shared)
        : base(pointer, length, pageSize, shared, fd: -1)
    {
    }

    public override string Kind => (Shared ? "anonymous shared" : "anonymous") + (PageSize > HostPageSize ? $" {PageSize >> 20} MiB huge pages" : "");

    public static AnonymousMemory Create(ulong size, bool shared, bool noReserve, ulong hugePageSize)
    {
        ulong page = hugePageSize == 0 ? HostPageSize : hugePageSize;
        ulong length = AlignUp(Math.Max(size, 1), page);
        int flags = Libc.MapAnonymous | (shared ? Libc.MapShared : Libc.MapPrivate)
                    | (noReserve ? Libc.MapNoReserve : 0) | HugeFlags(hugePageSize);
        nint p;
        try
        {
            p = Libc.Mmap(0, length, Libc.ProtRead | Libc.ProtWrite, flags, -1, 0, $"0x{length:x} bytes of guest RAM");
        }
        catch (HostCallException e) when (hugePageSize != 0)
        {
            throw HugePageError(e, hugePageSize, length);
        }
        if (hugePageSize != 0)
        {
            // With MAP_NORESERVE a hugetlb mapping succeeds even when no huge page exists, and the
            // first touch kills the process with SIGBUS. Allocate the pages now instead.
            try
            {
                Libc.Madvise(p, length, Libc.MadvPopulateWrite, "huge pages");
            }
            catch (HostCallException e)
            {
                Libc.Munmap(p, length);
                throw HugePageError(e, hugePageSize, length);
            }
        }
        else if (!shared)
        {
            // As QEMU does: let transparent huge pages back guest RAM where the host allows it.
            Libc.TryMadvise(p, length, Libc.MadvHugePage);
        }
        return new AnonymousMemory(p, length, page, shared);
    }

    private protected override void DiscardCore(ulong offset, ulong length)
        => Libc.Madvise(Pointer + (nint)offset, length, Shared ? Libc.MadvRemove : Libc.MadvDontNeed, "discard");

    private protected override void Release() => Libc.Munmap(Pointer, Length);
}
