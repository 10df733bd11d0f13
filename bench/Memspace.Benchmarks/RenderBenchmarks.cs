using BenchmarkDotNet.Attributes;
using Memspace.Benchmarks.Baselines;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Benchmarks;

/// <summary>
/// Full renders: Memspace's sweep renderer against QEMU's algorithm (the baseline, written here)
/// on the same graph, in the same run.
/// </summary>
[MemoryDiagnoser]
public class RenderBenchmarks
{
    private MemoryRegion _root = null!;

    /// <summary>The graph: 10,000 MMIO regions in one container, or a PC-like mix.</summary>
    [Params("10k-mmio", "realistic-mix")]
    public string Graph { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        _root = Graph == "10k-mmio" ? Scenarios.ManyMmio(10_000).Root : Scenarios.RealisticMix().Root;
        FlatRange[] a = FlatViewRenderer.Render(_root, static mr => mr.OwnDirtyLogMask);
        List<FlatRange> b = QemuStyleRenderer.Render(_root);
        if (!a.SequenceEqual(b))
        {
            throw new InvalidOperationException($"renderers disagree ({a.Length} vs {b.Count} ranges)");
        }
    }

    [Benchmark(Baseline = true, Description = "QEMU algorithm")]
    public int QemuStyle() => QemuStyleRenderer.Render(_root).Count;

    [Benchmark(Description = "Memspace renderer")]
    public int Memspace() => FlatViewRenderer.Render(_root, static mr => mr.OwnDirtyLogMask).Length;
}
