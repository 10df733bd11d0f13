using System.Runtime.InteropServices;

namespace Memspace.Interop;

/// <summary>
/// Every call into the operating system, in one place (Linux, x86_64). Wrappers throw
/// <see cref="HostCallException"/> with the call, the errno and its text; the raw imports are
/// private.
/// </summary>
internal static partial class Libc
{
    private const string Lib = "libc";

    public const int ProtNone = 0;
    public const int ProtRead = 1;
    public const int ProtWrite = 2;
    public const int MapShared = 0x01;
    public const int MapPrivate = 0x02;
    public const int MapFixed = 0x10;
    public const int MapAnonymous = 0x20;
    public const int MapNoReserve = 0x4000;
    public const int MapHugeTlb = 0x40000;
    public const int MapHugeShift = 26;
    public const int MadvDontNeed = 4;
    public const int MadvRemove = 9;
    public const int MadvDontFork = 10;
    public const int MadvHugePage = 14;
    public const int MadvPopulateWrite = 23;
    public const uint MfdCloexec = 0x0001;
    public const uint MfdHugeTlb = 0x0004;
    public const int FallocKeepSize = 0x01;
    public const int FallocPunchHole = 0x02;
    public const int ORdOnly = 0;
    public const int ORdWr = 2;
    public const int OCreat = 0x40;
    public const int OCloexec = 0x80000;
    public const long HugeTlbFsMagic = 0x958458f6;
    public const int Enomem = 12;
    public const int Eintr = 4;
    public const int Eagain = 11;

    private static readonly nint MapFailed = -1;

    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    private static partial nint SysMmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    private static partial int SysMunmap(nint addr, nuint length);

    [LibraryImport(Lib, EntryPoint = "madvise", SetLastError = true)]
    private static partial int SysMadvise(nint addr, nuint length, int advice);

    // SAFETY: vec holds one byte per page of [addr, addr + length): ResidentPages pins an array of that size.
    [LibraryImport(Lib, EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int SysMincore(nint addr, nuint length, byte* vec);

    [LibraryImport(Lib, EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysMemfdCreate(string name, uint flags);

    [LibraryImport(Lib, EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int SysFtruncate(int fd, long length);

    [LibraryImport(Lib, EntryPoint = "fallocate", SetLastError = true)]
    private static partial int SysFallocate(int fd, int mode, long offset, long length);

    [LibraryImport(Lib, EntryPoint = "lseek", SetLastError = true)]
    private static partial long SysLseek(int fd, long offset, int whence);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SysOpen(string path, int flags, int mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    private static partial int SysClose(int fd);

    // SAFETY: buf is a 256-byte stack buffer, larger than struct statfs (120 bytes on x86_64).
    [LibraryImport(Lib, EntryPoint = "fstatfs", SetLastError = true)]
    private static unsafe partial int SysFstatfs(int fd, byte* buf);

    // SAFETY: buf is a 256-byte stack buffer, larger than struct stat (144 bytes on x86_64).
    [LibraryImport(Lib, EntryPoint = "fstat", SetLastError = true)]
    private static unsafe partial int SysFstat(int fd, byte* buf);

    [LibraryImport(Lib, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int SysIoctl(int fd, nuint request, nint arg);

    [LibraryImport(Lib, EntryPoint = "eventfd", SetLastError = true)]
    private static partial int SysEventfd(uint initval, int flags);

    // SAFETY: callers pass a local of at least count bytes.
    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint SysRead(int fd, void* buf, nuint count);

    // SAFETY: callers pass a local of at least count bytes.
    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint SysWrite(int fd, void* buf, nuint count);

    [LibraryImport(Lib, EntryPoint = "pthread_self")]
    private static partial nuint SysPthreadSelf();

    [LibraryImport(Lib, EntryPoint = "pthread_kill")]
    private static partial int SysPthreadKill(nuint thread, int signal);

    // SAFETY: act and oldact are null or 256-byte stack buffers, larger than struct sigaction (152 bytes on x86_64 glibc).
    [LibraryImport(Lib, EntryPoint = "sigaction", SetLastError = true)]
    private static unsafe partial int SysSigaction(int signal, byte* act, byte* oldact);

    private static HostCallException Fail(string call, string? what = null)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new HostCallException(call, errno, what);
    }

    /// <summary>Maps memory; throws on failure.</summary>
    public static nint Mmap(nint addr, ulong length, int prot, int flags, int fd, long offset, string what)
    {
        nint p = SysMmap(addr, (nuint)length, prot, flags, fd, offset);
        if (p == MapFailed)
        {
            throw Fail("mmap", what);
        }
        return p;
    }

    /// <summary>Unmaps memory, ignoring failure (for cleanup paths that cannot report it).</summary>
    public static bool TryMunmap(nint addr, ulong length) => SysMunmap(addr, (nuint)length) == 0;

    public static void Munmap(nint addr, ulong length)
    {
        if (SysMunmap(addr, (nuint)length) != 0)
        {
            throw Fail("munmap");
        }
    }

    public static void Madvise(nint addr, ulong length, int advice, string what)
    {
        if (SysMadvise(addr, (nuint)length, advice) != 0)
        {
            throw Fail("madvise", what);
        }
    }

    /// <summary>madvise that may fail harmlessly (advice the kernel does not support).</summary>
    public static bool TryMadvise(nint addr, ulong length, int advice) => SysMadvise(addr, (nuint)length, advice) == 0;

    /// <summary>How many of the pages in [addr, addr+length) are resident.</summary>
    // SAFETY: the vector array has one byte per page of the range and is pinned for the call; the range itself is only inspected, never touched.
    public static unsafe long ResidentPages(nint addr, ulong length, ulong pageSize)
    {
        ulong pages = (length + pageSize - 1) / pageSize;
        byte[] vec = new byte[pages];
        fixed (byte* v = vec)
        {
            if (SysMincore(addr, (nuint)length, v) != 0)
            {
                throw Fail("mincore");
            }
        }
        long resident = 0;
        foreach (byte b in vec)
        {
            resident += b & 1;
        }
        return resident;
    }

    public static int MemfdCreate(string name, uint flags)
    {
        int fd = SysMemfdCreate(name, flags | MfdCloexec);
        if (fd < 0)
        {
            throw Fail("memfd_create", name);
        }
        return fd;
    }

    public static void Ftruncate(int fd, long length, string what)
    {
        if (SysFtruncate(fd, length) != 0)
        {
            throw Fail("ftruncate", what);
        }
    }

    public static void Fallocate(int fd, int mode, long offset, long length, string what)
    {
        if (SysFallocate(fd, mode, offset, length) != 0)
        {
            throw Fail("fallocate", what);
        }
    }

    public static int Open(string path, int flags, int mode)
    {
        int fd = SysOpen(path, flags | OCloexec, mode);
        if (fd < 0)
        {
            throw Fail("open", path);
        }
        return fd;
    }

    public static void Close(int fd) => SysClose(fd);

    private const int SeekDataWhence = 3;
    private const int SeekHoleWhence = 4;
    private const int Enxio = 6;

    /// <summary>
    /// The ranges of <paramref name="path"/> that hold data, as <c>lseek(SEEK_DATA/SEEK_HOLE)</c> reports
    /// them (holes of a sparse file left out; a file system without hole support reports one range).
    /// </summary>
    public static List<(long Offset, long Length)> DataExtents(string path)
    {
        int fd = Open(path, ORdOnly, 0);
        try
        {
            var extents = new List<(long, long)>();
            long at = 0;
            while (true)
            {
                long data = SysLseek(fd, at, SeekDataWhence);
                if (data < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Enxio)
                    {
                        return extents;
                    }
                    throw Fail("lseek", path);
                }
                long hole = SysLseek(fd, data, SeekHoleWhence);
                if (hole < 0)
                {
                    throw Fail("lseek", path);
                }
                extents.Add((data, hole - data));
                at = hole;
            }
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>The file system type and block size of an open file (<c>f_type</c>, <c>f_bsize</c> of statfs).</summary>
    // SAFETY: the stack buffer outlives the call and is larger than struct statfs; f_type and f_bsize are its first two 8-byte fields.
    public static unsafe (long Type, long BlockSize) Fstatfs(int fd)
    {
        byte* buf = stackalloc byte[256];
        if (SysFstatfs(fd, buf) != 0)
        {
            throw Fail("fstatfs");
        }
        return (*(long*)buf, *(long*)(buf + 8));
    }

    /// <summary>The size of an open file (<c>st_size</c> of stat on x86_64).</summary>
    // SAFETY: the stack buffer outlives the call and is larger than struct stat; st_size is at offset 48 on x86_64.
    public static unsafe long FileSize(int fd)
    {
        byte* buf = stackalloc byte[256];
        if (SysFstat(fd, buf) != 0)
        {
            throw Fail("fstat");
        }
        return *(long*)(buf + 48);
    }

    public const int EfdCloexec = 0x80000;
    public const int EfdNonblock = 0x800;
    public const int Sigusr2 = 12;

    /// <summary>An ioctl with an integer or pointer argument; returns the result or -errno.</summary>
    public static int Ioctl(int fd, uint request, nint arg)
    {
        while (true)
        {
            int r = SysIoctl(fd, request, arg);
            if (r >= 0)
            {
                return r;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Eintr || request == KvmAbi.Run)
            {
                return -errno;
            }
        }
    }

    public static int Eventfd()
    {
        int fd = SysEventfd(0, EfdCloexec | EfdNonblock);
        if (fd < 0)
        {
            throw Fail("eventfd");
        }
        return fd;
    }

    /// <summary>Adds 1 to an eventfd.</summary>
    // SAFETY: writes the 8 bytes of a local.
    public static unsafe void EventfdSignal(int fd)
    {
        ulong one = 1;
        SysWrite(fd, &one, 8);
    }

    /// <summary>Reads and resets an eventfd's counter; 0 when it was not signalled.</summary>
    // SAFETY: reads at most 8 bytes into a local.
    public static unsafe ulong EventfdConsume(int fd)
    {
        ulong value = 0;
        return SysRead(fd, &value, 8) == 8 ? value : 0;
    }

    /// <summary>The calling thread's pthread handle.</summary>
    public static nuint PthreadSelf() => SysPthreadSelf();

    /// <summary>Sends a signal to a thread of this process.</summary>
    public static int PthreadKill(nuint thread, int signal) => SysPthreadKill(thread, signal);

    /// <summary>
    /// Makes <paramref name="signal"/> interrupt blocking system calls (EINTR) without doing anything
    /// else, unless the signal already has a handler. The handler is libc's <c>abs</c>: it takes the
    /// signal number, does nothing observable, and is async-signal-safe. Returns whether the signal
    /// now interrupts (false when someone else handles it).
    /// </summary>
    // SAFETY: both buffers are 256-byte stack buffers, zeroed, larger than struct sigaction; the offsets are glibc x86_64's.
    public static unsafe bool InstallKickHandler(int signal)
    {
        // struct sigaction on x86_64 glibc: handler @0, sa_mask (128 bytes) @8, sa_flags @136, restorer @144.
        byte* old = stackalloc byte[256];
        byte* act = stackalloc byte[256];
        new Span<byte>(old, 256).Clear();
        new Span<byte>(act, 256).Clear();
        if (SysSigaction(signal, null, old) != 0)
        {
            return false;
        }
        nint current = *(nint*)old;
        nint handler = NativeLibrary.GetExport(NativeLibrary.Load("libc.so.6"), "abs");
        if (current == handler)
        {
            return true;
        }
        if (current != 0)
        {
            return false; // SIG_IGN or someone's handler: leave it alone
        }
        *(nint*)act = handler;
        *(int*)(act + 136) = 0; // no SA_RESTART: KVM_RUN returns EINTR
        return SysSigaction(signal, act, null) == 0;
    }
}
