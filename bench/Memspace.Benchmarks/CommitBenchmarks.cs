using BenchmarkDotNet.Attributes;
using Memspace.Listeners;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Benchmarks;

/// <summary>
/// What one commit costs when it changes one region among many: a move, an enable/disable and a
/// resize of one of N disjoint MMIO regions, with a KVM-like listener (region_add/region_del, no
/// region_nop) attached, rendering incrementally and rendering everything (QEMU's way). The baseline
/// in the same run is a bare full render of the graph.
/// </summary>
[MemoryDiagnoser]
public class CommitBenchmarks
{
    private MemoryRegion _root = null!;
    private MemoryRegion _target = null!;
    private CountingListener _listener = null!;
    private bool _flip;

    /// <summary>Number of MMIO regions in the graph.</summary>
    [Params(1_000, 10_000, 100_000)]
    public int Regions { get; set; }

    /// <summary>Incremental rendering (the default) or a full render at every commit.</summary>
    [Params(true, false)]
    public bool Incremental { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (_, root, space, regions) = Scenarios.ManyMmio(Regions, new MemorySystemOptions { IncrementalRendering = Incremental });
        _root = root;
        _target = regions[Regions / 2];
        _listener = new CountingListener();
        space.RegisterListener(_listener);
    }

    [Benchmark(Baseline = true, Description = "full render (no commit)")]
    public int RenderOnly() => FlatViewRenderer.Render(_root, static mr => mr.OwnDirtyLogMask).Length;

    [Benchmark(Description = "move one region")]
    public long MoveOne()
    {
        _flip = !_flip;
        _target.SetAddress(_flip ? 0x10_0000_0000UL : 0x1_0000_0000UL + ((ulong)(Regions / 2) * 0x2000));
        return _listener.Calls;
    }

    [Benchmark(Description = "enable/disable one region")]
    public long ToggleOne()
    {
        _target.SetEnabled(!_target.Enabled);
        return _listener.Calls;
    }

    [Benchmark(Description = "resize one region")]
    public long ResizeOne()
    {
        _flip = !_flip;
        _target.SetSize(_flip ? 0x800UL : 0x1000UL);
        return _listener.Calls;
    }

    /// <summary>A listener that does what KVM's does with sections (count them here), and takes no region_nop.</summary>
    internal sealed class CountingListener() : MemoryListener("count")
    {
        public long Calls { get; private set; }

        public override void RegionAdd(in MemoryRegionSection section) => Calls++;

        public override void RegionDel(in MemoryRegionSection section) => Calls++;
    }
}
