using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Memspace.Core;

namespace Memspace.Benchmarks;

/// <summary>
/// The guest-memory workload compared with rust-vmm's vm-memory (bench/vm-memory-baseline; see its
/// README): 256 MiB of RAM in <see cref="Regions"/> equal regions from guest address 0, each u64
/// holding its address, 65,536 xorshift64 offsets, hot (512 KiB in 1024 chunks) or cold (all 256 MiB).
/// One invocation is one pass over the offsets, so the table shows nanoseconds per access; the
/// bulk rows are one copy each. Every category has its own baseline in the same run: a raw pointer
/// access at the same offsets into the same host mappings, or a plain memory copy of the same bytes.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class GuestMemoryWorkloadBenchmarks
{
    private const int Accesses = GuestMemoryWorkload.Accesses;
    private const ulong Bulk = GuestMemoryWorkload.BulkAddress;

    private GuestMemoryWorkload _w = null!;
    private AddressSpace _memory = null!;
    private ulong[] _hot = null!;
    private ulong[] _cold = null!;
    private nint[] _hotPointers = null!;
    private nint[] _coldPointers = null!;
    private (nint, int)[] _pieces4K = null!;
    private (nint, int)[] _pieces1M = null!;
    private byte[] _buffer4K = null!;
    private byte[] _buffer1M = null!;
    private byte[] _source4K = null!;
    private byte[] _source1M = null!;

    /// <summary>Number of equal RAM regions the 256 MiB are split into.</summary>
    [Params(1, 64, 1024)]
    public int Regions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _w = new GuestMemoryWorkload(Regions);
        _memory = _w.Memory;
        _hot = GuestMemoryWorkload.Offsets(GuestMemoryWorkload.HotMask);
        _cold = GuestMemoryWorkload.Offsets(GuestMemoryWorkload.ColdMask);
        _hotPointers = _w.HostPointers(_hot);
        _coldPointers = _w.HostPointers(_cold);
        _pieces4K = _w.Pieces(Bulk, 4096);
        _pieces1M = _w.Pieces(Bulk, 1 << 20);
        _buffer4K = new byte[4096];
        _buffer1M = new byte[1 << 20];
        _source4K = new byte[4096];
        _source1M = new byte[1 << 20];
        GuestMemoryWorkload.FillPattern(_source4K, Bulk);
        GuestMemoryWorkload.FillPattern(_source1M, Bulk);
        // The loads read what the workload says they read.
        if (GuestMemoryWorkload.LoadRead(_memory, _hot, 1, out int errors) != GuestMemoryWorkload.PassSum(_hot) || errors != 0
            || GuestMemoryWorkload.RawRead(_coldPointers, 1) != GuestMemoryWorkload.PassSum(_cold))
        {
            throw new InvalidOperationException("the workload's RAM does not hold its pattern");
        }
        Console.WriteLine($"// GuestMemoryWorkload regions={Regions}: {_w.PageReport()}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        bool intact = _w.PatternHolds(Bulk, 1 << 20) && _hot.All(g => _w.PatternHolds(g, 8));
        Console.WriteLine($"// GuestMemoryWorkload regions={Regions}: {_w.PageReport()} pattern {(intact ? "intact" : "BROKEN")}");
        _w.Dispose();
        if (!intact)
        {
            throw new InvalidOperationException("the writes broke the workload's pattern");
        }
    }

    /// <summary>Raw pointer reads at the hot offsets.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Accesses)]
    [BenchmarkCategory("hot-read")]
    public ulong RawPointerHotRead() => GuestMemoryWorkload.RawRead(_hotPointers, 1);

    /// <summary><see cref="AddressSpace.LoadU64Le"/> at the hot offsets.</summary>
    [Benchmark(OperationsPerInvoke = Accesses)]
    [BenchmarkCategory("hot-read")]
    public ulong LoadU64LeHot() => GuestMemoryWorkload.LoadRead(_memory, _hot, 1, out _);

    /// <summary>Raw pointer reads at the cold offsets.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Accesses)]
    [BenchmarkCategory("cold-read")]
    public ulong RawPointerColdRead() => GuestMemoryWorkload.RawRead(_coldPointers, 1);

    /// <summary><see cref="AddressSpace.LoadU64Le"/> at the cold offsets.</summary>
    [Benchmark(OperationsPerInvoke = Accesses)]
    [BenchmarkCategory("cold-read")]
    public ulong LoadU64LeCold() => GuestMemoryWorkload.LoadRead(_memory, _cold, 1, out _);

    /// <summary>Raw pointer writes of the address itself at the hot offsets.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Accesses)]
    [BenchmarkCategory("hot-write")]
    public void RawPointerHotWrite() => GuestMemoryWorkload.RawWrite(_hotPointers, _hot, 1);

    /// <summary><see cref="AddressSpace.StoreU64Le"/> of the address itself at the hot offsets.</summary>
    [Benchmark(OperationsPerInvoke = Accesses)]
    [BenchmarkCategory("hot-write")]
    public int StoreU64LeHot() => GuestMemoryWorkload.StoreWrite(_memory, _hot, 1);

    /// <summary>Plain memory copy of the 4 KiB at 4 MiB out of the host mapping.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("bulk-4KiB")]
    public void MemoryCopy4KiB() => GuestMemoryWorkload.CopyOut(_pieces4K, _buffer4K);

    /// <summary><see cref="AddressSpace.Read(ulong, Span{byte})"/> of the 4 KiB at 4 MiB.</summary>
    [Benchmark]
    [BenchmarkCategory("bulk-4KiB")]
    public MemTxResult BulkRead4KiB() => _memory.Read(Bulk, _buffer4K);

    /// <summary><see cref="AddressSpace.Write(ulong, ReadOnlySpan{byte})"/> of the 4 KiB at 4 MiB (what they already hold).</summary>
    [Benchmark]
    [BenchmarkCategory("bulk-4KiB")]
    public MemTxResult BulkWrite4KiB() => _memory.Write(Bulk, _source4K);

    /// <summary>Plain memory copy of the 1 MiB at 4 MiB out of the host mapping(s).</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("bulk-1MiB")]
    public void MemoryCopy1MiB() => GuestMemoryWorkload.CopyOut(_pieces1M, _buffer1M);

    /// <summary><see cref="AddressSpace.Read(ulong, Span{byte})"/> of the 1 MiB at 4 MiB.</summary>
    [Benchmark]
    [BenchmarkCategory("bulk-1MiB")]
    public MemTxResult BulkRead1MiB() => _memory.Read(Bulk, _buffer1M);

    /// <summary><see cref="AddressSpace.Write(ulong, ReadOnlySpan{byte})"/> of the 1 MiB at 4 MiB (what they already hold).</summary>
    [Benchmark]
    [BenchmarkCategory("bulk-1MiB")]
    public MemTxResult BulkWrite1MiB() => _memory.Write(Bulk, _source1M);
}
