using Memspace.Interop;

namespace Memspace.Ram;

/// <summary>A memfd mapped shared; another process can map the same pages through the descriptor.</summary>
internal sealed class MemfdMemory : HostMemory
{
    private MemfdMemory(nint pointer, ulong length, ulong pageSize, int fd)
        : base(pointer, length, pageSize, shared: true, fd)
    {
    }

    public override string Kind => "memfd" + (PageSize > HostPageSize ? $" {PageSize >> 20} MiB huge pages" : "");

    public static MemfdMemory Create(string name, ulong size, ulong hugePageSize)
    {
        ulong page = hugePageSize == 0 ? HostPageSize : hugePageSize;
        ulong length = AlignUp(Math.Max(size, 1), page);
        uint flags = hugePageSize == 0 ? 0 : Libc.MfdHugeTlb | ((uint)System.Numerics.BitOperations.Log2(hugePageSize) << Libc.MapHugeShift);
        int fd = Libc.MemfdCreate(name, flags);
        try
        {
            Libc.Ftruncate(fd, (long)length, name);
            nint p = Libc.Mmap(0, length, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, fd, 0, name);
            if (hugePageSize != 0)
            {
                // A hugetlb file may map without its pages existing; a later touch would then kill the
                // process with SIGBUS. Allocate them now so a shortage is an error here instead.
                try
                {
                    Libc.Madvise(p, length, Libc.MadvPopulateWrite, name);
                }
                catch (HostCallException)
                {
                    Libc.Munmap(p, length);
                    throw;
                }
            }
            return new MemfdMemory(p, length, page, fd);
        }
        catch (HostCallException e)
        {
            Libc.Close(fd);
            throw hugePageSize != 0 ? HugePageError(e, hugePageSize, length) : e;
        }
    }

    // Shared memory keeps its pages in the file; only punching a hole frees them.
    private protected override void DiscardCore(ulong offset, ulong length)
        => Libc.Fallocate(Fd, Libc.FallocPunchHole | Libc.FallocKeepSize, (long)offset, (long)length, "discard");

    private protected override void Release()
    {
        Libc.Munmap(Pointer, Length);
        Libc.Close(Fd);
    }
}
