using Iced.Intel;
using Memspace.Kvm;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Memspace.Tests.Kvm;

/// <summary>
/// Guests on real KVM and on Unicorn (each skipped, with the reason, where it cannot be used): the same
/// guests and the same checks on both accelerators. Under PVM, code at CPL0 runs in KVM's instruction
/// emulator, so the guests are a handful of simple instructions.
/// </summary>
[Collection(nameof(KvmLive))]
public class KvmLiveTests
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void RealModeGuestUsesRamPortsAndMmio(string accelerator)
    {
        KvmGuest.Require(accelerator);
        using var g = new KvmGuest(accelerator);
        var (serialOps, serial) = KvmGuest.Recorder();
        var (debugOps, debug) = KvmGuest.Recorder();
        var (devOps, dev) = KvmGuest.Recorder(read: (a, _) => 0x4321 + a);
        g.IoRoot.AddSubregion(0x3f8, MemoryRegion.CreateIo(g.System, "serial", 8, serialOps));
        g.IoRoot.AddSubregion(0x80, MemoryRegion.CreateIo(g.System, "debug", 4, debugOps));
        g.Root.AddSubregion(0xd0000, MemoryRegion.CreateIo(g.System, "demo", 0x1000, devOps), 1);
        g.LoadRealMode(0x1000, a =>
        {
            a.mov(__word_ptr[0x2000], 0x1234);
            a.mov(dx, 0x3f8);
            a.mov(al, (byte)'H');
            a.@out(dx, al);
            a.mov(ax, 0xbeef);
            a.@out(0x80, ax);
            a.mov(ax, 0xd000);
            a.mov(ds, ax);
            a.mov(__word_ptr[0x10], 0x5678);
            a.mov(ax, __word_ptr[0x20]);
            a.@out(0x82, ax);
            a.hlt();
        });
        VcpuStop stop = g.Vcpu.Run();
        Assert.Equal(VcpuStopReason.Halted, stop.Reason);
        Assert.Equal(0x1234u, g.Memory.LoadU16Le(0x2000, out _, U));
        Assert.Equal(["w@0/1=48"], serial);
        Assert.Equal(["w@0/2=beef", "w@2/2=4341"], debug);
        Assert.Equal(["w@10/2=5678", "r@20/2=4341"], dev);
    }

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void RomReadsWorkAndRomWritesAreDropped(string accelerator)
    {
        KvmGuest.Require(accelerator);
        using var g = new KvmGuest(accelerator);
        var (portOps, port) = KvmGuest.Recorder();
        g.IoRoot.AddSubregion(0x80, MemoryRegion.CreateIo(g.System, "debug", 1, portOps));
        MemoryRegion rom = MemoryRegion.CreateRom(g.System, "rom", 0x1000);
        rom.RamBlock!.Write(0, [0x5a]);
        g.Root.AddSubregion(0xe0000, rom, 1);
        g.LoadRealMode(0x1000, a =>
        {
            a.mov(ax, 0xe000);
            a.mov(ds, ax);
            a.mov(al, __byte_ptr[0]);
            a.@out(0x80, al);
            a.mov(__byte_ptr[0], 0x11);
            a.mov(al, __byte_ptr[0]);
            a.@out(0x80, al);
            a.hlt();
        });
        Assert.Equal(VcpuStopReason.Halted, g.Vcpu.Run().Reason);
        Assert.Equal(["w@0/1=5a", "w@0/1=5a"], port);
        if (g.Kvm is { } kvm)
        {
            Assert.Contains(kvm.Trace, e => e.Gpa == 0xe0000 && e.Flags == 2 && e.Size == 0x1000);
        }
        else
        {
            Assert.Contains(g.Unicorn!.Trace, e => e.Call == "uc_mem_map_ptr" && e.Gpa == 0xe0000 && e.Perms == 5 && e.Size == 0x1000);
        }
    }

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void RegionMovedWhilePausedIsUsedAfterResume(string accelerator)
    {
        KvmGuest.Require(accelerator);
        using var g = new KvmGuest(accelerator);
        using var sawB = new ManualResetEventSlim();
        var seen = new List<byte>();
        using var sawA = new ManualResetEventSlim();
        g.IoRoot.AddSubregion(0x80, MemoryRegion.CreateIo(g.System, "debug", 1, new MemoryRegionOps
        {
            Read = (_, _) => 0,
            Write = (_, v, _) =>
            {
                lock (seen)
                {
                    seen.Add((byte)v);
                }
                if (v == 0xaa)
                {
                    sawA.Set();
                }
                if (v == 0xbb)
                {
                    sawB.Set();
                }
            },
        }));
        MemoryRegion a = MemoryRegion.CreateRam(g.System, "a", 0x1000);
        MemoryRegion b = MemoryRegion.CreateRam(g.System, "b", 0x1000);
        a.RamBlock!.Write(0, Enumerable.Repeat((byte)0xaa, 0x1000).ToArray());
        b.RamBlock!.Write(0, Enumerable.Repeat((byte)0xbb, 0x1000).ToArray());
        g.Root.AddSubregion(0x8000, a, 1);
        g.LoadRealMode(0x1000, asm =>
        {
            Label loop = asm.CreateLabel();
            asm.Label(ref loop);
            asm.mov(al, __byte_ptr[0x8000]);
            asm.@out(0x80, al);
            asm.jmp(loop);
        });
        g.Vcpu.Start();
        Assert.True(sawA.Wait(Timeout, TestContext.Current.CancellationToken));
        Assert.True(g.Vcpu.Pause(Timeout));
        using (g.System.Transaction())
        {
            g.Root.RemoveSubregion(a);
            g.Root.AddSubregion(0x8000, b, 1);
        }
        g.Vcpu.Resume();
        Assert.True(sawB.Wait(Timeout, TestContext.Current.CancellationToken));
        g.Vcpu.Stop();
        Assert.Equal(VcpuStopReason.Stopped, g.Vcpu.Join(Timeout)!.Reason);
        lock (seen)
        {
            int firstB = seen.IndexOf(0xbb);
            Assert.All(seen.Take(firstB), v => Assert.Equal(0xaa, v));
            Assert.All(seen.Skip(firstB), v => Assert.Equal(0xbb, v));
        }
    }

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void CpuidLeafOneReportsFpuTscTheHypervisorAndTheApicId(string accelerator)
    {
        KvmGuest.Require(accelerator);
        using var g = new KvmGuest(accelerator);
        var (portOps, port) = KvmGuest.Recorder();
        g.IoRoot.AddSubregion(0x80, MemoryRegion.CreateIo(g.System, "debug", 4, portOps));
        g.LoadRealMode(0x1000, a =>
        {
            a.mov(eax, 1);
            a.cpuid();
            a.mov(eax, ecx);
            a.@out(0x80, eax);
            a.mov(eax, edx);
            a.@out(0x80, eax);
            a.mov(eax, ebx);
            a.@out(0x80, eax);
            a.hlt();
        });
        Assert.Equal(VcpuStopReason.Halted, g.Vcpu.Run().Reason);
        uint[] values = [.. port.Select(l => Convert.ToUInt32(l.Split('=')[1], 16))];
        Assert.Equal(3, values.Length);
        Assert.True((values[0] & (1u << 31)) != 0, "hypervisor bit");
        Assert.Equal(0x11u, values[1] & 0x11u);                  // FPU, TSC
        Assert.Equal(0u, values[2] >> 24);                       // APIC id of vCPU 0
    }

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void FrequentPausesNeitherLoseNorRepeatGuestSideEffects(string accelerator)
    {
        KvmGuest.Require(accelerator);
        using var g = new KvmGuest(accelerator);
        var seen = new List<uint>();
        g.IoRoot.AddSubregion(0x80, MemoryRegion.CreateIo(g.System, "counter", 4, new MemoryRegionOps
        {
            Read = (_, _) => 0,
            Write = (_, v, _) =>
            {
                lock (seen)
                {
                    seen.Add((uint)v);
                }
            },
            Valid = new ValidAccess { MaxAccessSize = 4 },
            Impl = new ImplAccess { MaxAccessSize = 4 },
        }));
        // Each round adds 1 to a counter in RAM and reports it: a repeated or lost instruction shows as a gap or a repeat.
        g.LoadRealMode(0x1000, a =>
        {
            Label loop = a.CreateLabel();
            a.Label(ref loop);
            a.inc(__dword_ptr[0x600]);
            a.mov(eax, __dword_ptr[0x600]);
            a.@out(0x80, eax);
            a.jmp(loop);
        });
        g.Vcpu.Start();
        for (int i = 0; i < 300; i++)
        {
            Assert.True(g.Vcpu.Pause(Timeout));
            g.Vcpu.Resume();
            Thread.SpinWait(2000);
        }
        g.Vcpu.Stop();
        Assert.Equal(VcpuStopReason.Stopped, g.Vcpu.Join(Timeout)!.Reason);
        uint[] values;
        lock (seen)
        {
            values = [.. seen];
        }
        Assert.True(values.Length > 0);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(values[i] == (uint)i + 1, $"report {i} is {values[i]}, expected {i + 1}");
        }
        // A stop may come between the increment and its report (KVM's emulator takes a kick after any
        // instruction): then RAM is one ahead and the guest stands at the load or the out, not past it.
        uint inRam = g.Memory.LoadU32Le(0x600, out _, U);
        if (inRam == values[^1] + 1)
        {
            ulong rip = g.Vcpu.GetRegisters().Rip;
            Assert.True(rip is 0x1005 or 0x1009, $"RAM is one ahead of the last report but the guest stopped at 0x{rip:x}");
        }
        else
        {
            Assert.Equal(values[^1], inRam);
        }
    }

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void DirtyLogReportsExactlyThePagesTheGuestWrote(string accelerator)
    {
        KvmGuest.Require(accelerator);
        using var g = new KvmGuest(accelerator);
        MemoryRegion vram = MemoryRegion.CreateRam(g.System, "vram", 0x10000);
        vram.SetLog(true, DirtyMemoryClient.Vga);
        g.Root.AddSubregion(0x40000, vram, 1);
        g.System.RamList.Dirty.ClearDirty(vram.RamAddr, 0x10000);
        _ = vram.SnapshotAndClearDirty(0, 0x10000, DirtyMemoryClient.Vga);
        g.LoadRealMode(0x1000, a =>
        {
            a.mov(ax, 0x4000);
            a.mov(ds, ax);
            a.mov(__byte_ptr[0x1004], 1);
            a.mov(__byte_ptr[0x5ff0], 2);
            a.hlt();
        });
        Assert.Equal(VcpuStopReason.Halted, g.Vcpu.Run().Reason);
        var snap = vram.SnapshotAndClearDirty(0, 0x10000, DirtyMemoryClient.Vga);
        int[] dirty = [.. Enumerable.Range(0, 16).Where(p => vram.SnapshotGetDirty(snap, (ulong)p * 0x1000, 0x1000))];
        Assert.Equal([1, 5], dirty);
    }

    [Theory]
    [MemberData(nameof(KvmGuest.Accelerators), MemberType = typeof(KvmGuest))]
    public void LongModeGuestWritesRamAndPorts(string accelerator)
    {
        KvmGuest.Require(accelerator);
        if (accelerator == "unicorn")
        {
            Assert.Skip("Unicorn's 32-bit x86 API cannot load a long-mode state from outside the guest (UnicornVcpu refuses it with UnicornException)");
        }
        using var g = new KvmGuest(accelerator);
        var (portOps, port) = KvmGuest.Recorder();
        g.IoRoot.AddSubregion(0x80, MemoryRegion.CreateIo(g.System, "debug", 4, portOps));
        // Identity-map the first 2 MiB with one large page: PML4 at 0x10000, PDPT at 0x11000, PD at 0x12000.
        g.Memory.StoreU64Le(0x10000, 0x11000 | 3, U);
        g.Memory.StoreU64Le(0x11000, 0x12000 | 3, U);
        g.Memory.StoreU64Le(0x12000, 0x0 | 0x83, U);
        // GDT: null, 64-bit code (0x08), data (0x10).
        g.Memory.StoreU64Le(0x13000, 0, U);
        g.Memory.StoreU64Le(0x13008, 0x00af9b000000ffff, U);
        g.Memory.StoreU64Le(0x13010, 0x00cf93000000ffff, U);
        var asm = new Assembler(64);
        asm.mov(rax, 0x1122334455667788);
        asm.mov(__qword_ptr[0x3000], rax);
        asm.mov(eax, 0xcafe);
        asm.@out(0x80, eax);
        asm.hlt();
        var code = new MemoryStream();
        asm.Assemble(new StreamCodeWriter(code), 0x4000);
        g.Memory.WriteRom(0x4000, code.ToArray(), U);
        var s = g.Vcpu.GetSystemRegisters();
        var cs = new X86Segment { Base = 0, Limit = 0xffffffff, Selector = 0x08, Type = 11, Present = true, Dpl = 0, Db = false, S = true, L = true, G = true };
        var ds = new X86Segment { Base = 0, Limit = 0xffffffff, Selector = 0x10, Type = 3, Present = true, Dpl = 0, Db = true, S = true, L = false, G = true };
        s.Cs = cs;
        s.Ds = s.Es = s.Fs = s.Gs = s.Ss = ds;
        s.Gdt = new X86DescriptorTable(0x13000, 23);
        s.Cr3 = 0x10000;
        s.Cr4 = 1 << 5;                      // PAE
        s.Cr0 = 0x80000011;                  // PG | ET | PE
        s.Efer = (1 << 8) | (1 << 10);       // LME | LMA
        g.Vcpu.SetSystemRegisters(s);
        g.Vcpu.SetRegisters(new X86Registers { Rip = 0x4000, Rflags = 2, Rsp = 0x8000 });
        VcpuStop stop = g.Vcpu.Run();
        Assert.True(stop.Reason == VcpuStopReason.Halted, stop.Detail);
        Assert.Equal(0x1122334455667788UL, g.Memory.LoadU64Le(0x3000, out _, U));
        Assert.Equal(["w@0/4=cafe"], port);
    }

    [Fact]
    public void RealKvmGetsTheSlotsTheSimulationPredicts()
    {
        KvmGuest.RequireKvm();
        static string[] Script(KvmAccelerator kvm, MemorySystem s, MemoryRegion root)
        {
            MemoryRegion ram = MemoryRegion.CreateRam(s, "pc.ram", 0x200000);
            root.AddSubregion(0x100000, MemoryRegion.CreateAlias(s, "ram", ram, 0, 0x200000));
            MemoryRegion rom = MemoryRegion.CreateRom(s, "rom", 0x20000);
            root.AddSubregion(0x1c0000, rom, 1);
            ram.SetLog(true, DirtyMemoryClient.Vga);
            root.RemoveSubregion(rom);
            return [.. kvm.Trace.Select(e => $"Slot#{e.Slot} flags=0x{e.Flags:x} gpa=0x{e.Gpa:x} size=0x{e.Size:x} ret={e.Ret}")];
        }
        using var g = new KvmGuest();
        int before = g.Kvm!.Trace.Count;
        string[] real = Script(g.Kvm, g.System, g.Root)[before..];
        var s = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        AddressSpace memory = s.CreateAddressSpace(root, "memory");
        root.AddSubregion(0, MemoryRegion.CreateRam(s, "ram", 1 << 20));
        KvmAccelerator sim = KvmAccelerator.Attach(s, new SimulatedKvmVm(g.Kvm.Vm.NrMemslots, g.Kvm.Vm.ReadonlyMemSupported), memory, null);
        int simBefore = sim.Trace.Count;
        string[] simulated = Script(sim, s, root)[simBefore..];
        Assert.Equal(simulated, real);
        Assert.All(real, line => Assert.EndsWith("ret=0", line));
    }
}

/// <summary>Live KVM tests run one at a time (each creates a VM and runs a vCPU).</summary>
[CollectionDefinition(nameof(KvmLive), DisableParallelization = true)]
public sealed class KvmLive
{
}
