using CsCheck;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Tests.Support;

namespace Memspace.Tests.Ram;

/// <summary>Dirty bitmaps: QEMU's rules (case 41, new blocks dirty, per-region masks) and a model check.</summary>
public class DirtyMemoryTests
{
    private static (MemorySystem S, MemoryRegion Root, AddressSpace Space) Machine()
    {
        var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false });
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        return (s, root, s.CreateAddressSpace(root, "memory"));
    }

    [Fact]
    public void NewBlocksStartDirtyForEveryClient()
    {
        var (s, _, _) = Machine();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x5000, ram: new RamBlockOptions { MaxSize = 0x10000 });
        foreach (DirtyMemoryClient c in Enum.GetValues<DirtyMemoryClient>())
        {
            Assert.Equal(5UL, s.RamList.Dirty[c].Count(ram.RamAddr >> 12, 0x10));
        }
    }

    [Fact]
    public void Case41_SnapshotAndClearRoundsTo64Pages()
    {
        var (s, root, space) = Machine();
        MemoryRegion vram = MemoryRegion.CreateRam(s, "vram", 0x100000);
        root.AddSubregion(0x100000, vram);
        vram.SetLog(true, DirtyMemoryClient.Vga);
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        DirtyBitmap vga = s.RamList.Dirty[DirtyMemoryClient.Vga];
        ulong first = vram.RamAddr >> 12;
        vga.Clear(first, 256);
        vga.Set(first + 0, 1);   // page 0: same 64-page word as the request
        vga.Set(first + 1, 1);   // the requested page
        vga.Set(first + 63, 1);  // still the same word
        vga.Set(first + 64, 1);  // the next word: untouched
        DirtyBitmapSnapshot snap = vram.SnapshotAndClearDirty(0x1000, 0x1000, DirtyMemoryClient.Vga);
        Assert.True(vram.SnapshotGetDirty(snap, 0x1000, 0x1000));
        Assert.True(vram.SnapshotGetDirty(snap, 0, 0x1000));
        Assert.False(vram.SnapshotGetDirty(snap, 0x2000, 0x3d000));
        Assert.Equal(0UL, vga.Count(first, 64));
        Assert.True(vga.Test(first + 64));
        Assert.Equal(vram.RamAddr, snap.Start);
        Assert.Equal(vram.RamAddr + 0x40000, snap.End);
        // log_sync before, log_clear for exactly the requested range, log_global_after_sync last.
        Assert.Equal(
        [
            "l:log_sync vram [0x100000,0x200000)",
            "l:log_clear vram [0x101000,0x102000)@0x1000",
            "l:log_global_after_sync",
        ], rec.Log);
        Assert.Throws<ArgumentOutOfRangeException>(() => vram.SnapshotGetDirty(snap, 0x40000, 0x1000));
    }

    [Fact]
    public void SetDirtyUsesTheRegionsCurrentMask()
    {
        var (s, root, _) = Machine();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x10000);
        root.AddSubregion(0, ram);
        s.RamList.Dirty.ClearDirty(ram.RamAddr, 0x10000);
        ram.SetDirty(0x1000, 1);
        Assert.False(ram.GetDirty(0x1000, 1, DirtyMemoryClient.Vga));
        Assert.False(ram.GetDirty(0x1000, 1, DirtyMemoryClient.Migration));
        ram.SetLog(true, DirtyMemoryClient.Vga);
        s.GlobalDirtyLogStart(GlobalDirtyFlags.Migration);
        ram.SetDirty(0x1fff, 2); // straddles pages 1 and 2
        Assert.True(ram.GetDirty(0x1000, 0x1000, DirtyMemoryClient.Vga));
        Assert.True(ram.GetDirty(0x2000, 0x1000, DirtyMemoryClient.Migration));
        Assert.False(ram.GetDirty(0x2000, 0x1000, DirtyMemoryClient.Code));
        Assert.True(ram.ResetDirty(0x2000, 0x1000, DirtyMemoryClient.Vga));
        Assert.False(ram.ResetDirty(0x2000, 0x1000, DirtyMemoryClient.Vga));
        Assert.Throws<ArgumentOutOfRangeException>(() => ram.SetDirty(0x10000, 0x1000_0000));
    }

    /// <summary>Random operations on one client's bitmap against a set of page numbers.</summary>
    [Fact]
    public void BitmapBehavesLikeASetOfPages()
    {
        var op = Gen.Select(Gen.Int[0, 4], Gen.Int[0, 700], Gen.Int[0, 200]);
        op.Array[1, 60].Sample(ops =>
        {
            var bitmap = new DirtyBitmap();
            bitmap.Extend(1000);
            var model = new HashSet<ulong>();
            foreach (var (kind, first, count) in ops)
            {
                ulong f = (ulong)first, n = (ulong)count;
                var range = Enumerable.Range(first, count).Select(i => (ulong)i).ToList();
                switch (kind)
                {
                    case 0:
                        bitmap.Set(f, n);
                        model.UnionWith(range);
                        break;
                    case 1:
                        bitmap.Clear(f, n);
                        model.ExceptWith(range);
                        break;
                    case 2:
                        Assert.Equal(range.Any(model.Contains), bitmap.Any(f, n));
                        break;
                    case 3:
                        Assert.Equal(range.Any(model.Contains), bitmap.TestAndClear(f, n));
                        model.ExceptWith(range);
                        break;
                    case 4:
                        Assert.Equal((ulong)range.Count(model.Contains), bitmap.Count(f, n));
                        break;
                }
            }
            for (ulong p = 0; p < 1000; p++)
            {
                Assert.Equal(model.Contains(p), bitmap.Test(p));
            }
        }, iter: 500);
    }

    [Fact]
    public void SnapshotsAgreeWithTheModel()
    {
        Gen.Select(Gen.Int[0, 2000].Array[0, 50], Gen.Int[0, 1900], Gen.Int[1, 300]).Sample((pages, start, length) =>
        {
            using var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false });
            MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 2048 * 4096UL);
            DirtyMemory dirty = s.RamList.Dirty;
            dirty.ClearDirty(ram.RamAddr, 2048 * 4096UL);
            foreach (int p in pages)
            {
                ram.SetDirty((ulong)p * 4096, 1);
            }
            ulong addr = (ulong)start * 4096, len = (ulong)length * 4096;
            // Nothing logs the region, so set_dirty marks no client: use the bitmap directly.
            foreach (int p in pages)
            {
                dirty[DirtyMemoryClient.Migration].Set(ram.RamAddr / 4096 + (ulong)p, 1);
            }
            DirtyBitmapSnapshot snap = dirty.SnapshotAndClear(ram.RamAddr + addr, len, DirtyMemoryClient.Migration);
            var set = pages.Select(p => (ulong)p).ToHashSet();
            for (ulong p = (ulong)start; p < (ulong)(start + length); p++)
            {
                Assert.Equal(set.Contains(p), snap.GetDirty(ram.RamAddr + p * 4096, 4096));
            }
            // Everything in the rounded window is clear; everything outside it is untouched.
            ulong lo = addr / 4096 / 64 * 64, hi = (addr + len + 64 * 4096 - 1) / 4096 / 64 * 64;
            for (ulong p = 0; p < 2048; p++)
            {
                bool expected = set.Contains(p) && (p < lo || p >= hi);
                Assert.Equal(expected, dirty[DirtyMemoryClient.Migration].Test(ram.RamAddr / 4096 + p));
            }
        }, iter: 200);
    }

    [Fact]
    public void ConcurrentWritersLoseNoBit()
    {
        const ulong pages = 1 << 20; // 4 GiB of 4 KiB pages
        var bitmap = new DirtyBitmap();
        bitmap.Extend(pages);
        var collected = new ulong[pages / 64];
        const int writers = 3;
        int running = writers;
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            // Each writer marks an interleaved set of pages, so neighbouring bits share words.
            for (ulong p = (ulong)w; p < pages; p += writers)
            {
                bitmap.Set(p, 1);
            }
            Interlocked.Decrement(ref running);
        })).ToList();
        var harvester = new Thread(() =>
        {
            var buffer = new ulong[pages / 64];
            while (Volatile.Read(ref running) > 0)
            {
                bitmap.CopyAndClear(0, pages, buffer, 0);
                for (int i = 0; i < buffer.Length; i++)
                {
                    collected[i] |= buffer[i];
                }
            }
        });
        threads.ForEach(t => t.Start());
        harvester.Start();
        threads.ForEach(t => t.Join());
        harvester.Join();
        var rest = new ulong[pages / 64];
        bitmap.CopyAndClear(0, pages, rest, 0);
        for (int i = 0; i < rest.Length; i++)
        {
            Assert.Equal(ulong.MaxValue, collected[i] | rest[i]);
        }
    }
}
