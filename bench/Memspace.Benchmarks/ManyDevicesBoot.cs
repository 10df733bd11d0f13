using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>
/// A boot-like scale scenario: N PCI devices, each with two memory BARs, an option-ROM BAR and a
/// bus-master address space (an alias of system memory in a "bus master container", as QEMU makes
/// them), switched on one after another as firmware does: program the BARs, enable memory decoding,
/// enable bus mastering, one commit each (3N commits), with a KVM-like listener on "memory".
/// Rendering incrementally and rendering everything at each commit, side by side.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class ManyDevicesBoot
{
    private static readonly MemoryRegionOps s_ops = new() { Read = static (_, _) => 0, Write = static (_, _, _) => { } };

    private MemorySystem _system = null!;
    private List<(MemoryRegion Bar0, MemoryRegion Bar1, MemoryRegion Rom, MemoryRegion BusMaster)> _devices = null!;

    /// <summary>Number of devices.</summary>
    [Params(100, 1_000, 4_000)]
    public int Devices { get; set; }

    /// <summary>Incremental rendering (the default) or a full render at every commit.</summary>
    [Params(true, false)]
    public bool Incremental { get; set; }

    [IterationSetup]
    public void Setup()
    {
        _system = new MemorySystem(new MemorySystemOptions { AllocateRam = false, IncrementalRendering = Incremental });
        MemoryRegion system = MemoryRegion.CreateContainer(_system, "system", MemoryRegion.Size2To64);
        AddressSpace memory = _system.CreateAddressSpace(system, "memory");
        memory.RegisterListener(new CommitBenchmarks.CountingListener());
        _devices = new(Devices);
        using (_system.Transaction())
        {
            system.AddSubregion(0, MemoryRegion.CreateRam(_system, "pc.ram", 1UL << 30));
            MemoryRegion pci = MemoryRegion.CreateContainer(_system, "pci", MemoryRegion.Size2To64);
            system.AddSubregion(0, pci, -1);
            for (int i = 0; i < Devices; i++)
            {
                // BARs exist from device creation but are mapped only when decoding is on.
                MemoryRegion bar0 = MemoryRegion.CreateIo(_system, $"dev{i}.bar0", 0x1000, s_ops);
                MemoryRegion bar1 = MemoryRegion.CreateIo(_system, $"dev{i}.bar1", 0x4000, s_ops);
                MemoryRegion rom = MemoryRegion.CreateRom(_system, $"dev{i}.rom", 0x10000);
                foreach (MemoryRegion bar in new[] { bar0, bar1, rom })
                {
                    bar.SetEnabled(false);
                    pci.AddSubregion(0, bar, 1);
                }
                MemoryRegion container = MemoryRegion.CreateContainer(_system, "bus master container", MemoryRegion.Size2To64);
                MemoryRegion busMaster = MemoryRegion.CreateAlias(_system, "bus master", system, 0, MemoryRegion.Size2To64);
                busMaster.SetEnabled(false);
                container.AddSubregion(0, busMaster);
                _system.CreateAddressSpace(container, $"dev{i}");
                _devices.Add((bar0, bar1, rom, busMaster));
            }
        }
    }

    [Benchmark(Description = "program BARs, enable decoding, enable bus mastering, per device")]
    public long Boot()
    {
        ulong window = 0x8000_0000;
        foreach ((MemoryRegion bar0, MemoryRegion bar1, MemoryRegion rom, MemoryRegion busMaster) in _devices)
        {
            using (_system.Transaction())
            {
                bar0.SetAddress(window);
                bar1.SetAddress(window + 0x4000);
                rom.SetAddress(window + 0x10000);
            }
            using (_system.Transaction())
            {
                bar0.SetEnabled(true);
                bar1.SetEnabled(true);
                rom.SetEnabled(true);
            }
            busMaster.SetEnabled(true);
            window += 0x20000;
        }
        return _system.CommitCount;
    }

    [IterationCleanup]
    public void Cleanup() => _system.Dispose();
}
