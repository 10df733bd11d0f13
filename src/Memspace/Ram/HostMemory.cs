using Memspace.Interop;

namespace Memspace.Ram;

/// <summary>
/// A host mapping that backs guest RAM (what QEMU's RAMBlock <c>host</c> points into). Guest RAM
/// never lives on the managed heap: every backend is an <c>mmap</c>.
/// </summary>
/// <remarks>
/// Backends: <see cref="Anonymous"/> (private, <c>MAP_NORESERVE</c>), <see cref="Memfd"/> (shared:
/// another process can map the same guest RAM through the file descriptor), <see cref="File"/>
/// (a path, shared or private), huge pages (through <see cref="Anonymous"/> or <see cref="Memfd"/>
/// with a huge page size, or a file on hugetlbfs), and <see cref="FromPointer"/> for memory the
/// caller owns. <see cref="Discard"/> gives pages back to the OS the way the backing requires.
/// </remarks>
public abstract class HostMemory : IDisposable
{
    /// <summary>2 MiB, the usual x86 huge page.</summary>
    public const ulong HugePage2M = 2UL << 20;

    private int _disposed;

    private protected HostMemory(nint pointer, ulong length, ulong pageSize, bool shared, int fd)
    {
        Pointer = pointer;
        Length = length;
        PageSize = pageSize;
        Shared = shared;
        Fd = fd;
    }

    /// <summary>Start of the mapping.</summary>
    public nint Pointer { get; }

    /// <summary>Length of the mapping in bytes (a multiple of <see cref="PageSize"/>).</summary>
    public ulong Length { get; }

    /// <summary>Page size of the backing: the host page, or the huge page size.</summary>
    public ulong PageSize { get; }

    /// <summary>Whether the mapping is <c>MAP_SHARED</c>.</summary>
    public bool Shared { get; }

    /// <summary>File descriptor of the backing (memfd or file), or -1.</summary>
    public int Fd { get; }

    /// <summary>A short name of the backend, for diagnostics.</summary>
    public abstract string Kind { get; }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The host page size.</summary>
    public static ulong HostPageSize { get; } = (ulong)Environment.SystemPageSize;

    /// <summary>Anonymous memory (<c>MAP_ANONYMOUS</c>), private unless <paramref name="shared"/>; huge pages when <paramref name="hugePageSize"/> is set.</summary>
    /// <param name="size">Size in bytes; rounded up to the page size.</param>
    /// <param name="shared">Map shared (survives in child processes, discards with MADV_REMOVE).</param>
    /// <param name="noReserve">Do not reserve swap (<c>MAP_NORESERVE</c>); pages are allocated on first touch.</param>
    /// <param name="hugePageSize">0 for normal pages, or a huge page size such as <see cref="HugePage2M"/> (<c>MAP_HUGETLB</c>).</param>
    public static HostMemory Anonymous(ulong size, bool shared = false, bool noReserve = true, ulong hugePageSize = 0)
        => Checked(() => AnonymousMemory.Create(size, shared, noReserve, hugePageSize));

    /// <summary>Shared memory in an anonymous file (<c>memfd_create</c>) that another process can map through <see cref="Fd"/>.</summary>
    /// <param name="name">Name shown in /proc/PID/fd.</param>
    /// <param name="size">Size in bytes; rounded up to the page size.</param>
    /// <param name="hugePageSize">0 for normal pages, or a huge page size (<c>MFD_HUGETLB</c>).</param>
    public static HostMemory Memfd(string name, ulong size, ulong hugePageSize = 0) => Checked(() => MemfdMemory.Create(name, size, hugePageSize));

    /// <summary>
    /// Memory backed by a file (created if missing and grown to <paramref name="size"/>); a file on
    /// hugetlbfs gives huge pages.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="size">Size in bytes; rounded up to the file system's page size.</param>
    /// <param name="shared">Shared (writes reach the file) or private (copy on write).</param>
    /// <param name="readOnly">Map read-only.</param>
    public static HostMemory File(string path, ulong size, bool shared = true, bool readOnly = false)
        => Checked(() => FileMemory.Create(path, size, shared, readOnly));

    /// <summary>
    /// A private, copy-on-write mapping of an existing file that is only read (a snapshot's RAM file):
    /// pages are faulted in from the file on first access, guest writes go to private copies and never
    /// reach the file. The file must hold at least <paramref name="size"/> bytes.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="size">Bytes to map (a multiple of the host page size).</param>
    public static HostMemory FileCopyOnWrite(string path, ulong size)
        => Checked(() => FileMemory.CreateCopyOnWrite(path, size));

    /// <summary>Memory the caller owns (QEMU's <c>RAM_PREALLOC</c>); never unmapped or discarded by Memspace.</summary>
    /// <param name="pointer">Start of the memory.</param>
    /// <param name="length">Its length.</param>
    public static HostMemory FromPointer(nint pointer, ulong length) => new CallerMemory(pointer, length);

    /// <summary>
    /// Gives the pages of [<paramref name="offset"/>, + <paramref name="length"/>) back to the OS; the
    /// range reads as zeros afterwards (for a private file mapping: as the file's contents).
    /// Both must be multiples of <see cref="PageSize"/>.
    /// </summary>
    /// <param name="offset">Offset in the mapping.</param>
    /// <param name="length">Length.</param>
    public void Discard(ulong offset, ulong length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (offset % PageSize != 0 || length % PageSize != 0 || offset > Length || length > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"discard of [0x{offset:x}, +0x{length:x}) is not page-aligned inside the 0x{Length:x}-byte mapping (page size 0x{PageSize:x})");
        }
        if (length != 0)
        {
            Checked(() =>
            {
                DiscardCore(offset, length);
                return 0;
            });
        }
    }

    /// <summary>How many pages of [<paramref name="offset"/>, + <paramref name="length"/>) are resident (<c>mincore</c>).</summary>
    /// <param name="offset">Offset in the mapping.</param>
    /// <param name="length">Length.</param>
    public long ResidentPages(ulong offset, ulong length)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return Checked(() => Libc.ResidentPages(Pointer + (nint)offset, length, HostPageSize));
    }

    private protected abstract void DiscardCore(ulong offset, ulong length);

    private protected abstract void Release();

    /// <summary>Unmaps the memory and closes its file descriptor.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Checked(() =>
            {
                Release();
                return 0;
            });
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Unmaps memory whose owner forgot to free it.</summary>
    ~HostMemory()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                Release();
            }
            catch (HostCallException)
            {
                // Nothing useful can be done on the finalizer thread.
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} 0x{Length:x} bytes at 0x{Pointer:x}";

    internal static ulong AlignUp(ulong value, ulong align) => (value + align - 1) & ~(align - 1);

    internal static int HugeFlags(ulong hugePageSize)
    {
        if (hugePageSize == 0)
        {
            return 0;
        }
        if (!ulong.IsPow2(hugePageSize) || hugePageSize < HostPageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(hugePageSize), hugePageSize, "a huge page size is a power of two larger than the host page");
        }
        return Libc.MapHugeTlb | (System.Numerics.BitOperations.Log2(hugePageSize) << Libc.MapHugeShift);
    }

    internal static Exception HugePageError(HostCallException e, ulong hugePageSize, ulong size)
        => new HostMemoryException(e.Call, e.Errno,
            $"{e.Call} of 0x{size:x} bytes of {hugePageSize >> 20} MiB huge pages failed: the host has not enough free huge pages of that size "
            + $"(see HugePages_Free in /proc/meminfo and /proc/sys/vm/nr_hugepages; errno {e.Errno})", e);

    /// <summary>Runs a host call, turning its failure into the public <see cref="HostMemoryException"/>.</summary>
    private static T Checked<T>(Func<T> call)
    {
        try
        {
            return call();
        }
        catch (HostCallException e)
        {
            throw new HostMemoryException(e.Call, e.Errno, e.Message, e);
        }
    }
}
