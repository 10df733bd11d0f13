using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Memspace.Core;
using Memspace.Machines;

namespace Memspace.Benchmarks;

/// <summary>
/// Mapping changes per second on Unicorn: one PAM write through the host bridge's ports (i440FX register
/// 0x59, the BIOS area at 0xf0000, switched between PCI and RAM each time), which commits a new view and
/// makes the "unicorn-memory" listener unmap and map what changed. The baseline, in the same run, is the
/// same write on a machine whose listener is KVM's with a simulated VM (the slot bookkeeping without
/// a kernel): the ratio is the price of Unicorn's uc_mem_unmap / uc_mem_map_ptr. Without libunicorn2 the
/// setup fails and says why.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class UnicornMappingBenchmarks
{
    private Machine _kvm = null!;
    private Machine _unicorn = null!;
    private bool _ram;

    [GlobalSetup]
    public void Setup()
    {
        if (!Unicorn.UnicornAccelerator.IsAvailable(out string reason))
        {
            throw new InvalidOperationException("UnicornMappingBenchmarks need Unicorn: " + reason);
        }
        _kvm = Machine.Create("pc", new MachineOptions { Accelerator = MachineAccelerator.Simulated });
        _unicorn = Machine.Create("pc", new MachineOptions { Accelerator = MachineAccelerator.Unicorn });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kvm?.Dispose();
        _unicorn?.Dispose();
    }

    /// <summary>One PAM write on the simulated KVM machine.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("pam")]
    public void PamWriteSimulatedKvm() => TogglePam(_kvm);

    /// <summary>One PAM write on the Unicorn machine: a commit and the Unicorn map changes it needs.</summary>
    [Benchmark]
    [BenchmarkCategory("pam")]
    public void PamWriteUnicorn() => TogglePam(_unicorn);

    private void TogglePam(Machine m)
    {
        _ram = !_ram;
        m.Io.Write(0xcf8, BitConverter.GetBytes(0x8000_0058u), MemTxAttrs.UnspecifiedAttrs);
        m.Io.Write(0xcfd, [_ram ? (byte)0x30 : (byte)0x00], MemTxAttrs.UnspecifiedAttrs);
    }
}
