using BenchmarkDotNet.Attributes;
using Memspace.Listeners;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Benchmarks;

/// <summary>
/// One commit that moves one region among 10,000 with a listener attached: re-render, diff and
/// 10,000 listener callbacks. The baseline is a bare render of the same graph, so the ratio shows
/// what the diff and the callbacks add on top of rendering.
/// </summary>
[MemoryDiagnoser]
public class CommitBenchmarks
{
    private MemoryRegion _root = null!;
    private MemoryRegion _moving = null!;
    private CountingListener _listener = null!;
    private bool _flip;

    [GlobalSetup]
    public void Setup()
    {
        var (_, root, space, regions) = Scenarios.ManyMmio(10_000);
        _root = root;
        _moving = regions[5_000];
        _listener = new CountingListener();
        space.RegisterListener(_listener);
    }

    [Benchmark(Baseline = true, Description = "render only")]
    public int RenderOnly() => FlatViewRenderer.Render(_root, static mr => mr.OwnDirtyLogMask).Length;

    [Benchmark(Description = "move one region (commit + diff + callbacks)")]
    public long MoveOne()
    {
        _flip = !_flip;
        _moving.SetAddress(_flip ? 0x10_0000_0000UL : 0x1_0000_0000UL + (5_000UL * 0x2000));
        return _listener.Calls;
    }

    private sealed class CountingListener() : MemoryListener("count")
    {
        public long Calls { get; private set; }

        public override void RegionAdd(in MemoryRegionSection section) => Calls++;

        public override void RegionDel(in MemoryRegionSection section) => Calls++;

        public override void RegionNop(in MemoryRegionSection section) => Calls++;
    }
}
