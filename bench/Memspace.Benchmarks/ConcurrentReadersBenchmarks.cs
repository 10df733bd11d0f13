using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Memspace.Core;
using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>
/// Readers that scale: 1 and 2 threads each doing the hot-set 8-byte reads of the guest-memory
/// workload (1 RAM region) while another thread commits 1,000 topology changes per second (moving an
/// unrelated MMIO region). The result is wall time for a fixed number of reads per thread, so two
/// threads at full speed take as long as one: the throughput ratio is 2 × (1-thread time / 2-thread time).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 10, invocationCount: 1)]
public class ConcurrentReadersBenchmarks
{
    private const int ReadsPerThread = 4_000_000;

    private GuestMemoryWorkload _workload = null!;
    private ulong[] _offsets = null!;
    private MemoryRegion _moving = null!;

    /// <summary>Reader threads.</summary>
    [Params(1, 2)]
    public int Readers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _workload = new GuestMemoryWorkload(1, thp: true);
        _offsets = GuestMemoryWorkload.Offsets(GuestMemoryWorkload.HotMask);
        _moving = MemoryRegion.CreateIo(_workload.System, "mover", 0x1000, new MemoryRegionOps { Read = static (_, _) => 0, Write = static (_, _, _) => { } });
        MemoryRegion root = _workload.Memory.Root;
        root.AddSubregion(0x1_0000_0000, _moving);
    }

    [GlobalCleanup]
    public void Cleanup() => _workload.Dispose();

    [Benchmark(Description = "hot reads while another thread commits 1,000 changes/s")]
    public ulong ReadWhileCommitting()
    {
        using var done = new CancellationTokenSource();
        var committer = new Thread(() =>
        {
            long period = Stopwatch.Frequency / 1000;
            long next = Stopwatch.GetTimestamp();
            bool flip = false;
            while (!done.IsCancellationRequested)
            {
                flip = !flip;
                _moving.SetAddress(flip ? 0x2_0000_0000UL : 0x1_0000_0000UL);
                next += period;
                while (Stopwatch.GetTimestamp() < next && !done.IsCancellationRequested)
                {
                    Thread.Yield();
                }
            }
        });
        committer.Start();
        ulong total = 0;
        var threads = new Thread[Readers];
        var sums = new ulong[Readers];
        for (int t = 0; t < Readers; t++)
        {
            int index = t;
            threads[t] = new Thread(() => sums[index] = ReadMany(_workload.Memory, _offsets));
            threads[t].Start();
        }
        foreach (Thread t in threads)
        {
            t.Join();
        }
        done.Cancel();
        committer.Join();
        foreach (ulong s in sums)
        {
            total += s;
        }
        return total;
    }

    private static ulong ReadMany(AddressSpace memory, ulong[] offsets)
    {
        ulong sum = 0;
        int n = 0;
        while (n < ReadsPerThread)
        {
            foreach (ulong o in offsets)
            {
                sum += memory.LoadU64Le(o, out _, MemTxAttrs.UnspecifiedAttrs);
            }
            n += offsets.Length;
        }
        return sum;
    }
}
