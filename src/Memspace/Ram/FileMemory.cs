using Memspace.Interop;

namespace Memspace.Ram;

/// <summary>A file mapped shared or private; on hugetlbfs the pages are huge.</summary>
internal sealed class FileMemory : HostMemory
{
    private FileMemory(nint pointer, ulong length, ulong pageSize, bool shared, int fd, string path)
        : base(pointer, length, pageSize, shared, fd)
    {
        Path = path;
    }

    public string Path { get; }

    public override string Kind => $"file {Path}" + (Shared ? "" : " (private)");

    public static FileMemory Create(string path, ulong size, bool shared, bool readOnly)
    {
        int fd = Libc.Open(path, readOnly ? Libc.ORdOnly : Libc.ORdWr | Libc.OCreat, 0x180 /* 0600 */);
        try
        {
            (long fsType, long blockSize) = Libc.Fstatfs(fd);
            ulong page = fsType == Libc.HugeTlbFsMagic ? (ulong)blockSize : HostPageSize;
            ulong length = AlignUp(Math.Max(size, 1), page);
            if (!readOnly && (ulong)Libc.FileSize(fd) < length)
            {
                Libc.Ftruncate(fd, (long)length, path);
            }
            int prot = Libc.ProtRead | (readOnly ? 0 : Libc.ProtWrite);
            nint p = Libc.Mmap(0, length, prot, shared ? Libc.MapShared : Libc.MapPrivate, fd, 0, path);
            if (page != HostPageSize && !readOnly)
            {
                // hugetlbfs: allocate the huge pages now (see MemfdMemory).
                try
                {
                    Libc.Madvise(p, length, Libc.MadvPopulateWrite, path);
                }
                catch (HostCallException e)
                {
                    Libc.Munmap(p, length);
                    throw HugePageError(e, page, length);
                }
            }
            return new FileMemory(p, length, page, shared, fd, path);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    public static FileMemory CreateCopyOnWrite(string path, ulong size)
    {
        int fd = Libc.Open(path, Libc.ORdOnly, 0);
        try
        {
            ulong length = AlignUp(Math.Max(size, 1), HostPageSize);
            long fileSize = Libc.FileSize(fd);
            if ((ulong)fileSize < length)
            {
                throw new HostMemoryException("mmap", 0, $"{path} holds {fileSize} bytes; mapping it as 0x{length:x} bytes of RAM would fault past its end");
            }
            nint p = Libc.Mmap(0, length, Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate, fd, 0, path);
            return new FileMemory(p, length, HostPageSize, false, fd, path);
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
    }

    private protected override void DiscardCore(ulong offset, ulong length)
    {
        if (Shared)
        {
            // The pages live in the file: punch them out of it.
            Libc.Fallocate(Fd, Libc.FallocPunchHole | Libc.FallocKeepSize, (long)offset, (long)length, Path);
        }
        else
        {
            // Private copies are dropped; the range reads the file's contents again.
            Libc.Madvise(Pointer + (nint)offset, length, Libc.MadvDontNeed, Path);
        }
    }

    private protected override void Release()
    {
        Libc.Munmap(Pointer, Length);
        Libc.Close(Fd);
    }
}
