using BenchmarkDotNet.Attributes;
using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>
/// Address spaces that share a view must not cost a render each: 1, 100 and 4,000 bus-master address
/// spaces (each an alias of system memory, enabled) over 1,000 MMIO regions; the commit of one region
/// move, and the memory the address spaces take (the allocation column of <see cref="CreateAddressSpaces"/>).
/// </summary>
[MemoryDiagnoser]
public class ManyAddressSpacesBenchmarks
{
    private MemorySystem _system = null!;
    private MemoryRegion _root = null!;
    private MemoryRegion _target = null!;
    private bool _flip;

    /// <summary>Number of bus-master address spaces.</summary>
    [Params(1, 100, 4_000)]
    public int AddressSpaces { get; set; }

    /// <summary>Incremental rendering (the default) or a full render at every commit.</summary>
    [Params(true, false)]
    public bool Incremental { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (system, root, space, regions) = Scenarios.ManyMmio(1_000, new MemorySystemOptions { IncrementalRendering = Incremental });
        _system = system;
        _root = root;
        _target = regions[500];
        space.RegisterListener(new CommitBenchmarks.CountingListener());
        Add(AddressSpaces);
    }

    private List<AddressSpace> Add(int count)
    {
        var spaces = new List<AddressSpace>(count);
        using (_system.Transaction())
        {
            for (int i = 0; i < count; i++)
            {
                MemoryRegion container = MemoryRegion.CreateContainer(_system, "bus master container", MemoryRegion.Size2To64);
                container.AddSubregion(0, MemoryRegion.CreateAlias(_system, "bus master", _root, 0, MemoryRegion.Size2To64));
                spaces.Add(_system.CreateAddressSpace(container, $"dev{i}"));
            }
        }
        return spaces;
    }

    [Benchmark(Description = "move one region")]
    public long MoveOne()
    {
        _flip = !_flip;
        _target.SetAddress(_flip ? 0x10_0000_0000UL : 0x1_0000_0000UL + (500UL * 0x2000));
        return _system.CommitCount;
    }

    [Benchmark(Description = "create the address spaces, then destroy them")]
    public int CreateAddressSpaces()
    {
        List<AddressSpace> spaces = Add(AddressSpaces);
        foreach (AddressSpace space in spaces)
        {
            space.Destroy();
        }
        return spaces.Count;
    }
}
