using Iced.Intel;
using Memspace.Kvm;
using Memspace.Regions;
using Memspace.Unicorn;

namespace Memspace.Tests.Support;

/// <summary>
/// A small machine on a live accelerator for tests (real KVM or Unicorn): the accelerator is attached
/// before any RAM exists (as QEMU does), then 1 MiB of RAM at 0 and an I/O space whose unassigned
/// ports read all ones. Guests are assembled with Iced. Tests call <see cref="Require"/> (or
/// <see cref="RequireKvm"/>) first, which reports them skipped, with the reason, where the accelerator
/// cannot be used.
/// </summary>
internal sealed class KvmGuest : IDisposable
{
    /// <summary>The accelerators live tests run on, as theory data.</summary>
    public static TheoryData<string> Accelerators => new("kvm", "unicorn");

    public KvmGuest(string accelerator = "kvm")
    {
        System = new MemorySystem();
        Root = MemoryRegion.CreateContainer(System, "system", MemoryRegion.Size2To64);
        IoRoot = MemoryRegion.CreateIo(System, "io", 0x10000, new MemoryRegionOps { Read = (_, _) => ulong.MaxValue, Write = (_, _, _) => { } });
        Memory = System.CreateAddressSpace(Root, "memory");
        Io = System.CreateAddressSpace(IoRoot, "I/O");
        if (accelerator == "unicorn")
        {
            Unicorn = UnicornAccelerator.Create(System, Memory, Io);
        }
        else
        {
            Kvm = KvmAccelerator.Create(System, Memory, Io);
        }
        Ram = MemoryRegion.CreateRam(System, "ram", 1 << 20);
        Root.AddSubregion(0, Ram);
        Vcpu = Unicorn is { } u ? u.CreateVcpu(0, Memory, Io) : Kvm!.RealVm!.CreateVcpu(0, Memory, Io);
    }

    /// <summary>Reports the test skipped, with the reason, unless <paramref name="accelerator"/> ("kvm" or "unicorn") can run guests here.</summary>
    public static void Require(string accelerator)
    {
        if (accelerator == "unicorn")
        {
            if (!UnicornAccelerator.IsAvailable(out string reason))
            {
                Assert.Skip("needs Unicorn: " + reason);
            }
            return;
        }
        RequireKvm();
    }

    public MemorySystem System { get; }

    public MemoryRegion Root { get; }

    public MemoryRegion IoRoot { get; }

    public AddressSpace Memory { get; }

    public AddressSpace Io { get; }

    public KvmAccelerator? Kvm { get; }

    public UnicornAccelerator? Unicorn { get; }

    public MemoryRegion Ram { get; }

    public Vcpu Vcpu { get; }

    public static void RequireKvm()
    {
        if (!KvmVm.IsAvailable(out string reason))
        {
            Assert.Skip("needs KVM: " + reason);
        }
    }

    /// <summary>Assembles 16-bit code at <paramref name="address"/>, loads it and points the vCPU at it (real mode, CS=0).</summary>
    public void LoadRealMode(ulong address, Action<Assembler> code)
    {
        var a = new Assembler(16);
        code(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), address);
        Memory.WriteRom(address, stream.ToArray(), MemTxAttrs.UnspecifiedAttrs);
        Vcpu.SetRealMode(0, (ushort)address);
    }

    /// <summary>A device that records every access as "r/w@offset/size=value".</summary>
    public static (MemoryRegionOps Ops, List<string> Log) Recorder(Func<ulong, uint, ulong>? read = null)
    {
        var log = new List<string>();
        var ops = new MemoryRegionOps
        {
            Read = (a, s) =>
            {
                ulong v = read?.Invoke(a, s) ?? 0;
                lock (log)
                {
                    log.Add($"r@{a:x}/{s}={v:x}");
                }
                return v;
            },
            Write = (a, v, s) =>
            {
                lock (log)
                {
                    log.Add($"w@{a:x}/{s}={v:x}");
                }
            },
            Valid = new ValidAccess { MaxAccessSize = 8 },
            Impl = new ImplAccess { MaxAccessSize = 8 },
        };
        return (ops, log);
    }

    public void Dispose()
    {
        Vcpu.Dispose();
        Kvm?.Dispose();
        Unicorn?.Dispose();
        System.Dispose();
    }
}
