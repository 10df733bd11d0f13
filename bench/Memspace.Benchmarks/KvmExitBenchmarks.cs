using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Memspace.Kvm;
using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>
/// The cost of serving a KVM exit through the address spaces. The guest is a two-instruction real-mode
/// loop ("out dx, al; jmp" to port 0x80, or "mov [bx], al; jmp" into an MMIO region); each
/// operation is one KVM_RUN plus serving its exit. The baseline is a bare KVM_RUN ioctl on the same
/// vCPU and guest, issued directly, with the exit left unserved: the difference is Memspace's
/// dispatch. (bench/kvm-baseline has the same loop in C for a floor outside .NET.) Without
/// <c>/dev/kvm</c> the setup fails with the reason.
/// </summary>
public unsafe class KvmExitBenchmarks
{
    private const ulong KvmRun = 0xae80;

    private MemorySystem _system = null!;
    private KvmAccelerator _kvm = null!;
    private Vcpu _vcpu = null!;
    private ulong _sink;

    /// <summary>Which exit the guest produces.</summary>
    [Params("pio", "mmio")]
    public string Exit { get; set; } = "pio";

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
        // pio:  mov dx, 0x80; l: out dx, al; jmp l
        // mmio: mov ax, 0x1000; mov ds, ax; mov bx, 0; l: mov [bx], al; jmp l
        byte[] code = Exit == "pio"
            ? [0xba, 0x80, 0x00, 0xee, 0xeb, 0xfd]
            : [0xb8, 0x00, 0x10, 0x8e, 0xd8, 0xbb, 0x00, 0x00, 0x88, 0x07, 0xeb, 0xfc];
        memory.WriteRom(0x1000, code, MemTxAttrs.UnspecifiedAttrs);
        _vcpu = _kvm.RealVm!.CreateVcpu(0, memory, ioSpace);
        _vcpu.SetRealMode(0, 0x1000);
        VcpuExit first = _vcpu.RunOnce();
        VcpuExitKind expected = Exit == "pio" ? VcpuExitKind.Io : VcpuExitKind.Mmio;
        if (first.Kind != expected)
        {
            throw new InvalidOperationException($"guest produced {first.Kind} ({first.Detail}), expected {expected}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _vcpu?.Dispose();
        _kvm?.Dispose();
        _system?.Dispose();
    }

    /// <summary>KVM_RUN alone, exit left unserved (the guest repeats the same access).</summary>
    [Benchmark(Baseline = true)]
    public int BareKvmRun() => Ioctl(_vcpu.Fd, KvmRun, 0);

    /// <summary>KVM_RUN plus serving the exit through the address space to the device callback.</summary>
    [Benchmark]
    public VcpuExitKind RunOnceServed() => _vcpu.RunOnce().Kind;

    [DllImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static extern int Ioctl(int fd, ulong request, nint arg);
}
