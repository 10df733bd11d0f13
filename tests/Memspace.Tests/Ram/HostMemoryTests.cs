using System.Runtime.InteropServices;
using Memspace.Interop;
using Memspace.Ram;
using Memspace.Regions;

namespace Memspace.Tests.Ram;

/// <summary>Tests that measure the process's resident memory run alone.</summary>
[CollectionDefinition(nameof(ResidentMemory), DisableParallelization = true)]
public sealed class ResidentMemory
{
}

/// <summary>Each host memory backend, exercised for real.</summary>
[Collection(nameof(ResidentMemory))]
public class HostMemoryTests
{
    private const ulong Mib = 1 << 20;

    private static void Fill(HostMemory m, ulong length, byte value)
        => Bytes(m)[..(int)length].Fill(value);

    // SAFETY: the mapping is m.Length bytes from m.Pointer and stays mapped until the test disposes m,
    // after its last use of the span.
    private static unsafe Span<byte> Bytes(HostMemory m) => new((void*)m.Pointer, (int)m.Length);

    private static long StatusKb(string field)
    {
        foreach (string line in File.ReadAllLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            }
        }
        throw new InvalidOperationException(field + " not in /proc/self/status");
    }

    [Fact]
    public void AnonymousMemoryIsReservedNotTouched()
    {
        using HostMemory m = HostMemory.Anonymous(64 * Mib);
        Assert.Equal(64 * Mib, m.Length);
        Assert.Equal(HostMemory.HostPageSize, m.PageSize);
        Assert.False(m.Shared);
        Assert.Equal(0, m.ResidentPages(0, m.Length));
        Fill(m, 4 * Mib, 0xaa);
        Assert.True(m.ResidentPages(0, 4 * Mib) >= (long)(4 * Mib / HostMemory.HostPageSize));
    }

    [Fact]
    public void DiscardAndFreeGiveAnonymousMemoryBack()
    {
        HostMemory m = HostMemory.Anonymous(64 * Mib);
        long before = StatusKb("RssAnon");
        Fill(m, m.Length, 0x5a);
        long touched = StatusKb("RssAnon");
        Assert.True(touched - before >= 48 * 1024, $"RssAnon rose only {touched - before} KiB");
        m.Discard(0, 32 * Mib);
        Assert.Equal(0, m.ResidentPages(0, 32 * Mib));
        Assert.Equal(0, Bytes(m)[(int)(4096)]);            // discarded private memory reads as zero
        Assert.Equal(0x5a, Bytes(m)[(int)(40 * Mib)]);     // the rest is intact
        long discarded = StatusKb("RssAnon");
        Assert.True(touched - discarded >= 24 * 1024, $"RssAnon fell only {touched - discarded} KiB after discard");
        m.Dispose();
        long freed = StatusKb("RssAnon");
        Assert.True(discarded - freed >= 24 * 1024, $"RssAnon fell only {discarded - freed} KiB after free");
        Assert.True(m.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => m.Discard(0, 4096));
    }

    [Fact]
    public void MemfdIsVisibleThroughASecondMappingAndDiscardsWithAHolePunch()
    {
        using HostMemory first = HostMemory.Memfd("guest-ram", 16 * Mib);
        Assert.True(first.Shared);
        Assert.True(first.Fd >= 0);
        // What another process would do: map the same memory through /proc/<pid>/fd.
        using HostMemory second = HostMemory.File($"/proc/self/fd/{first.Fd}", 16 * Mib, shared: true);
        Assert.NotEqual(first.Pointer, second.Pointer);
        Bytes(first)[(int)(12345)] = 0x42;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(Bytes(first)[(int)(8 * Mib)..], 0x1122334455667788);
        Assert.Equal(0x42, Bytes(second)[(int)(12345)]);
        Assert.Equal(0x1122334455667788UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(Bytes(second)[(int)(8 * Mib)..]));
        Bytes(second)[(int)(99)] = 7;
        Assert.Equal(7, Bytes(first)[(int)(99)]);

        long shmemBefore = StatusKb("RssShmem");
        Fill(first, 16 * Mib, 1);
        long shmemTouched = StatusKb("RssShmem");
        Assert.True(shmemTouched - shmemBefore >= 12 * 1024, $"RssShmem rose only {shmemTouched - shmemBefore} KiB");
        first.Discard(0, 16 * Mib);
        Assert.Equal(0, first.ResidentPages(0, 16 * Mib));
        Assert.True(StatusKb("RssShmem") <= shmemBefore + 1024, "RssShmem did not fall after the hole punch");
        // A hole punch frees the pages for every mapping: both see zeros.
        Assert.Equal(0, Bytes(second)[(int)(12345)]);
    }

    [Fact]
    public void FileBackedMemoryPersists()
    {
        string path = Path.GetTempFileName();
        try
        {
            using (HostMemory m = HostMemory.File(path, 1 * Mib, shared: true))
            {
                "persisted"u8.CopyTo(Bytes(m)[4096..]);
            }
            byte[] bytes = File.ReadAllBytes(path);
            Assert.Equal((int)Mib, bytes.Length);
            Assert.Equal("persisted"u8.ToArray(), bytes[4096..(4096 + 9)]);
            using (HostMemory again = HostMemory.File(path, 1 * Mib, shared: true))
            {
                Assert.Equal((byte)'p', Bytes(again)[(int)(4096)]);
                again.Discard(0, 1 * Mib);
                Assert.Equal(0, Bytes(again)[(int)(4096)]);
            }
            Assert.Equal(0, File.ReadAllBytes(path)[4096]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void PrivateFileMappingsDoNotWriteBack()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, Enumerable.Repeat((byte)3, 8192).ToArray());
            using (HostMemory m = HostMemory.File(path, 8192, shared: false))
            {
                Assert.Equal(3, Bytes(m)[(int)(100)]);
                Bytes(m)[(int)(100)] = 9;
                Assert.Equal(9, Bytes(m)[(int)(100)]);
                m.Discard(0, 4096);
                Assert.Equal(3, Bytes(m)[(int)(100)]); // the private copy is gone; the file shows again
            }
            Assert.Equal(3, File.ReadAllBytes(path)[100]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HugePagesWorkOrFailClearly()
    {
        long free = File.ReadAllLines("/proc/meminfo").Where(l => l.StartsWith("HugePages_Free:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])).Single();
        if (free >= 2)
        {
            using HostMemory m = HostMemory.Anonymous(4 * Mib, hugePageSize: HostMemory.HugePage2M);
            Assert.Equal(HostMemory.HugePage2M, m.PageSize);
            Fill(m, 4 * Mib, 1);
            using HostMemory f = HostMemory.Memfd("huge", 2 * Mib, HostMemory.HugePage2M);
            Assert.Equal(HostMemory.HugePage2M, f.PageSize);
        }
        else
        {
            var ex = Assert.Throws<HostMemoryException>(() => HostMemory.Anonymous(4 * Mib, hugePageSize: HostMemory.HugePage2M));
            Assert.Contains("huge pages", ex.Message);
            Assert.Contains("nr_hugepages", ex.Message);
            ex = Assert.Throws<HostMemoryException>(() => HostMemory.Memfd("huge", 2 * Mib, HostMemory.HugePage2M));
            Assert.Contains("huge pages", ex.Message);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => HostMemory.Anonymous(Mib, hugePageSize: 3 * Mib));
    }

    [Fact]
    // SAFETY: raw is a 64 KiB allocation freed only in the finally block, after every use.
    public unsafe void CallerMemoryStaysTheCallers()
    {
        void* raw = NativeMemory.AlignedAlloc(65536, 4096);
        try
        {
            using var s = new MemorySystem();
            HostMemory mem = HostMemory.FromPointer((nint)raw, 65536);
            MemoryRegion ram = MemoryRegion.CreateRam(s, "preallocated", 65536, ram: new RamBlockOptions { Memory = mem });
            Assert.True((ram.RamBlock!.Flags & RamBlockFlags.Preallocated) != 0);
            using (Memspace.Ram.RamPointer pointer = ram.GetRamPtr())
            {
                Assert.Equal((nint)raw, pointer.Address);
            }
            Assert.Throws<InvalidOperationException>(() => ram.RamBlock.Discard(0, 4096));
            ram.RamBlock.Write(10, [1, 2, 3]);
            ram.Destroy();
            Assert.Equal(2, ((byte*)raw)[11]); // not unmapped
        }
        finally
        {
            NativeMemory.AlignedFree(raw);
        }
    }

    [Fact]
    public void RamRegionsOnEachBackend()
    {
        using var s = new MemorySystem();
        string path = Path.GetTempFileName();
        try
        {
            MemoryRegion anon = MemoryRegion.CreateRam(s, "anon", 3 * Mib + 1);
            MemoryRegion memfd = MemoryRegion.CreateRam(s, "memfd", Mib, ram: new RamBlockOptions { Memory = HostMemory.Memfd("memfd", Mib) });
            MemoryRegion file = MemoryRegion.CreateRom(s, "file", Mib, ram: new RamBlockOptions { Memory = HostMemory.File(path, Mib) });
            Assert.Equal(3 * Mib + 4096, anon.RamBlock!.UsedLength);
            Assert.True((anon.RamBlock.Flags & RamBlockFlags.NoReserve) != 0);
            Assert.True((memfd.RamBlock!.Flags & RamBlockFlags.Shared) != 0);
            file.RamBlock!.Write(0, "rom"u8);
            Assert.Throws<ArgumentOutOfRangeException>(() => file.RamBlock.Write(Mib - 1, "xy"u8));
            var buf = new byte[3];
            file.RamBlock.Read(0, buf);
            Assert.Equal("rom"u8.ToArray(), buf);
            Assert.Throws<ArgumentOutOfRangeException>(() => MemoryRegion.CreateRam(s, "too-small", 2 * Mib, ram: new RamBlockOptions { Memory = HostMemory.Anonymous(Mib) }));
            Assert.Null(s.RamList.LookupByIdStr("too-small"));
            HostMemory? mem = memfd.RamBlock.Memory;
            memfd.Destroy();
            Rcu.Synchronize(); // the memory goes back once no reader can still see it
            Assert.True(mem!.IsDisposed);
            Assert.True(memfd.RamBlock.IsFreed);
            Assert.Throws<ObjectDisposedException>(() => memfd.RamBlock.Read(0, buf));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void DestroyRefusesRegionsStillInUse()
    {
        using var s = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        s.CreateAddressSpace(root, "memory");
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x10000);
        MemoryRegion alias = MemoryRegion.CreateAlias(s, "alias", ram, 0, 0x1000);
        root.AddSubregion(0, ram);
        Assert.Contains("mapped in 'system'", Assert.Throws<MemoryTopologyException>(() => ram.Destroy()).Message);
        root.RemoveSubregion(ram);
        Assert.Contains("alias", Assert.Throws<MemoryTopologyException>(() => ram.Destroy()).Message);
        alias.Destroy();
        Assert.Contains("root of address space", Assert.Throws<MemoryTopologyException>(() => root.Destroy()).Message);
        ram.Destroy();
        Assert.Empty(s.RamList.Blocks);
        Assert.Throws<ObjectDisposedException>(() => root.AddSubregion(0, ram));
        Assert.Throws<ObjectDisposedException>(() => MemoryRegion.CreateAlias(s, "late", ram, 0, 0x10));
    }
}
