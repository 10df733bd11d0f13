using BenchmarkDotNet.Attributes;
using Memspace.Ram;

namespace Memspace.Benchmarks;

/// <summary>
/// Dirty bitmaps: setting page bits from two threads at once (atomic OR into shared words), and
/// snapshot-and-clear over 4 GiB worth of 4 KiB pages. Baselines in the same run: plain,
/// non-atomic single-thread bit setting into an array, and a plain copy-then-clear of an array of
/// the same size.
/// </summary>
public class DirtyBenchmarks
{
    private const int PagesPerThread = 1 << 20;
    private const ulong Pages = 1UL << 20; // 4 GiB of 4 KiB pages
    private DirtyBitmap _bitmap = null!;
    private ulong[] _plain = null!;
    private ulong[] _copy = null!;
    private ulong[] _snapshot = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bitmap = new DirtyBitmap();
        _bitmap.Extend(Pages * 2);
        _plain = new ulong[Pages * 2 / 64];
        _copy = new ulong[Pages / 64];
        _snapshot = new ulong[Pages / 64];
    }

    /// <summary>Baseline: one thread sets 2^21 interleaved bits with plain read-modify-write.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = 2 * PagesPerThread)]
    public void PlainSetOneThread()
    {
        ulong[] words = _plain;
        for (ulong p = 0; p < 2 * PagesPerThread; p++)
        {
            words[p / 64] |= 1UL << (int)(p % 64);
        }
    }

    /// <summary>Two threads each set 2^20 bits; their pages interleave, so they share every word.</summary>
    [Benchmark(OperationsPerInvoke = 2 * PagesPerThread)]
    public void AtomicSetTwoThreads()
    {
        _bitmap.Clear(0, Pages * 2);
        var t0 = new Thread(() => SetEvery(0));
        var t1 = new Thread(() => SetEvery(1));
        t0.Start();
        t1.Start();
        t0.Join();
        t1.Join();
    }

    private void SetEvery(ulong first)
    {
        for (ulong p = first; p < 2 * PagesPerThread; p += 2)
        {
            _bitmap.Set(p, 1);
        }
    }

    /// <summary>Baseline for the snapshot: copy 128 KiB of bitmap and clear it, non-atomically.</summary>
    [Benchmark]
    public void PlainCopyAndClear4GiB()
    {
        Array.Copy(_plain, _copy, _copy.Length);
        Array.Clear(_plain, 0, _copy.Length);
    }

    /// <summary>Snapshot-and-clear of 4 GiB worth of pages, none dirty (the steady state of an idle guest).</summary>
    [Benchmark]
    public void SnapshotAndClear4GiBClean() => _bitmap.CopyAndClear(0, Pages, _snapshot, 0);

    /// <summary>Baseline for the dirty case: fill 128 KiB with ones, copy and clear it, non-atomically.</summary>
    [Benchmark]
    public void PlainFillCopyAndClear4GiB()
    {
        Array.Fill(_plain, ulong.MaxValue, 0, _copy.Length);
        Array.Copy(_plain, _copy, _copy.Length);
        Array.Clear(_plain, 0, _copy.Length);
    }

    /// <summary>Marks every page of 4 GiB dirty, then snapshots and clears it (atomic exchange per 64-page word).</summary>
    [Benchmark]
    public void SetAllThenSnapshotAndClear4GiB()
    {
        _bitmap.Set(0, Pages);
        _bitmap.CopyAndClear(0, Pages, _snapshot, 0);
    }
}
