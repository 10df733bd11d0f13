using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Memspace.Core;
using Memspace.Kvm;
using Memspace.Regions;
using Memspace.Vcpus;

namespace Memspace.Benchmarks;

/// <summary>
/// The cost of serving a KVM exit through the address spaces. Two vCPUs of one VM run two-instruction
/// real-mode loops: "out dx, al; jmp" to port 0x80, and "mov [bx], al; jmp" with bx in an MMIO region.
/// <see cref="PioExit"/> and <see cref="MmioExit"/> are one KVM_RUN plus serving its exit through the
/// address space to the device callback. Their baselines, in the same run, are a bare KVM_RUN ioctl
/// on the same vCPU with the exit left unserved: the ratio is Memspace's exit path against the floor
/// any VMM has. (bench/kvm-baseline has the same loop in C.) Without <c>/dev/kvm</c> the setup fails
/// and says why.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[MemoryDiagnoser]
public class KvmExitBenchmarks
{
    private const ulong KvmRun = 0xae80;

    private MemorySystem _system = null!;
    private KvmAccelerator _kvm = null!;
    private Vcpu _pio = null!;
    private Vcpu _mmio = null!;
    private ulong _sink;

    [GlobalSetup]
    public void Setup()
    {
        if (!KvmVm.IsAvailable(out string reason))
        {
            throw new InvalidOperationException("KvmExitBenchmarks need KVM: " + reason);
        }
        _system = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(_system, "system", MemoryRegion.Size2To64);
        var deviceOps = new MemoryRegionOps
        {
            Read = (_, _) => 0,
            Write = (_, v, _) => _sink += v,
        };
        MemoryRegion io = MemoryRegion.CreateIo(_system, "io", 0x10000, new MemoryRegionOps { Read = (_, _) => ulong.MaxValue, Write = (_, _, _) => { } });
        AddressSpace memory = _system.CreateAddressSpace(root, "memory");
        AddressSpace ioSpace = _system.CreateAddressSpace(io, "I/O");
        _kvm = KvmAccelerator.Create(_system, memory, ioSpace);
        using (_system.Transaction())
        {
            root.AddSubregion(0, MemoryRegion.CreateRam(_system, "ram", 0x10000));
            root.AddSubregion(0x10000, MemoryRegion.CreateIo(_system, "mmio-dev", 0x1000, deviceOps));
            io.AddSubregion(0x80, MemoryRegion.CreateIo(_system, "port80", 1, deviceOps));
        }
        // 0x1000: mov dx, 0x80; l: out dx, al; jmp l
        memory.WriteRom(0x1000, [0xba, 0x80, 0x00, 0xee, 0xeb, 0xfd], MemTxAttrs.UnspecifiedAttrs);
        // 0x2000: mov ax, 0x1000; mov ds, ax; mov bx, 0; l: mov [bx], al; jmp l
        memory.WriteRom(0x2000, [0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xbb, 0x00, 0x00, 0x88, 0x07, 0xeb, 0xfc], MemTxAttrs.UnspecifiedAttrs);
        _pio = Start(0, memory, ioSpace, 0x1000, VcpuExitKind.Io);
        _mmio = Start(1, memory, ioSpace, 0x2000, VcpuExitKind.Mmio);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pio?.Dispose();
        _mmio?.Dispose();
        _kvm?.Dispose();
        _system?.Dispose();
    }

    /// <summary>KVM_RUN alone on the port I/O loop; the exit is left unserved.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("pio")]
    public int BarePioRun() => Ioctl(((KvmVcpu)_pio.Backend).Fd, KvmRun, 0);

    /// <summary>One port I/O exit, served through the I/O address space to the device callback.</summary>
    [Benchmark]
    [BenchmarkCategory("pio")]
    public VcpuExitKind PioExit() => _pio.RunOnce().Kind;

    /// <summary>KVM_RUN alone on the MMIO loop; the exit is left unserved.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("mmio")]
    public int BareMmioRun() => Ioctl(((KvmVcpu)_mmio.Backend).Fd, KvmRun, 0);

    /// <summary>One MMIO exit, served through the memory address space to the device callback.</summary>
    [Benchmark]
    [BenchmarkCategory("mmio")]
    public VcpuExitKind MmioExit() => _mmio.RunOnce().Kind;

    private Vcpu Start(int index, AddressSpace memory, AddressSpace io, ushort ip, VcpuExitKind expected)
    {
        Vcpu vcpu = _kvm.RealVm!.CreateVcpu(index, memory, io);
        vcpu.SetRealMode(0, ip);
        VcpuExit first = vcpu.RunOnce();
        if (first.Kind != expected)
        {
            throw new InvalidOperationException($"vCPU {index}'s guest produced {first.Kind} ({first.Detail}), expected {expected}");
        }
        return vcpu;
    }

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, ulong request, nint arg);
}
