using BenchmarkDotNet.Attributes;
using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>
/// Creating N RAM regions and mapping them in one transaction, as a board with thousands of RAM
/// blocks does (the gap index places each RAMBlock in O(log n)). The baseline in the same run is
/// QEMU's own placement rule as QEMU implements it (<c>find_ram_offset</c>: every block against every
/// block) placing one more block into a list of N: the whole build of N regions should cost less than
/// that one placement once N is large.
/// </summary>
/// <remarks>Run: <c>dotnet run -c Release --project bench/Memspace.Benchmarks -- --filter '*RamScaleBenchmarks*' --inProcess --launchCount 1 --warmupCount 1 --iterationCount 5</c>.</remarks>
[MemoryDiagnoser]
public class RamScaleBenchmarks
{
    private (ulong Offset, ulong Length)[] _blocks = [];

    /// <summary>Number of RAM regions.</summary>
    [Params(1_000, 10_000, 100_000)]
    public int Regions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // The list QEMU would have after N blocks of 4 KiB: one every 256 KiB (the alignment).
        _blocks = new (ulong, ulong)[Regions];
        for (int i = 0; i < Regions; i++)
        {
            _blocks[i] = ((ulong)i << 18, 0x1000);
        }
    }

    [Benchmark(Baseline = true, Description = "QEMU's scan: place 1 block among N")]
    public ulong QemuScanPlaceOne()
    {
        const ulong alignment = 1UL << 18;
        ulong offset = ulong.MaxValue, minGap = ulong.MaxValue;
        foreach ((ulong start, ulong length) in _blocks)
        {
            ulong candidate = (start + length + alignment - 1) & ~(alignment - 1);
            ulong next = ulong.MaxValue;
            foreach ((ulong other, _) in _blocks)
            {
                if (other >= candidate)
                {
                    next = Math.Min(next, other);
                }
            }
            if (next - candidate >= 0x1000 && next - candidate < minGap)
            {
                offset = candidate;
                minGap = next - candidate;
            }
        }
        return offset;
    }

    [Benchmark(Description = "create + map N RAM regions, one transaction")]
    public int CreateAndMapAll()
    {
        using var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false });
        MemoryRegion root = MemoryRegion.CreateContainer(s, "root", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        using (s.Transaction())
        {
            for (int i = 0; i < Regions; i++)
            {
                root.AddSubregion((ulong)i * 0x2000, MemoryRegion.CreateRam(s, $"ram{i}", 0x1000));
            }
        }
        return space.CurrentMap.Count;
    }
}
