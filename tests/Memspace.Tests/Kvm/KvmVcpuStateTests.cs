using Iced.Intel;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Regions;
using Memspace.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Memspace.Tests.Kvm;

/// <summary>
/// Saving and loading a vCPU on real KVM (skipped without it): a guest paused mid-run, its state and RAM
/// moved to a new machine, finishes exactly as an uninterrupted run does; and saving and loading on the
/// same vCPU is transparent.
/// </summary>
[Collection(nameof(KvmLive))]
public class KvmVcpuStateTests(ITestOutputHelper output)
{
    private const ushort InPorts = 0x560;
    private const ushort OutPort = 0x568;
    private const ushort DonePort = 0x56c;
    private const int Iterations = 400;

    /// <summary>
    /// A real-mode guest that, per iteration, reads one of 8 ports (whose values differ), folds the value
    /// into a hash in EBX, stores the hash in RAM and writes it to a port; at the end it writes the hash to
    /// the done port. An IN whose completion were lost, a register or RAM byte not carried over, changes
    /// the hash.
    /// </summary>
    private static byte[] Guest()
    {
        var a = new Assembler(16);
        Label loop = a.CreateLabel();
        a.xor(ecx, ecx);
        a.mov(ebx, 0x12345);
        a.Label(ref loop);
        a.mov(dx, cx);
        a.and(dx, 7);
        a.add(dx, InPorts);
        a.@in(al, dx);
        a.movzx(eax, al);
        a.imul(ebx, ebx, 31);
        a.add(ebx, eax);
        a.add(ebx, __dword_ptr[0x3000]);
        a.add(ebx, ecx);
        a.mov(__dword_ptr[0x3000], ebx);
        a.mov(dx, OutPort);
        a.mov(eax, ebx);
        a.@out(dx, eax);
        a.inc(ecx);
        a.cmp(ecx, Iterations);
        a.jb(loop);
        a.mov(dx, DonePort);
        a.mov(eax, ebx);
        a.@out(dx, eax);
        a.hlt();
        var s = new MemoryStream();
        a.Assemble(new StreamCodeWriter(s), 0x1000);
        return s.ToArray();
    }

    private sealed class Run : IDisposable
    {
        public Run(string machineName)
        {
            Machine = Memspace.Machines.Machine.Create(machineName, new MachineOptions
            {
                Accelerator = MachineAccelerator.Kvm, RamSize = 16UL << 20, Smm = false,
            });
            Machine.SystemIo.AddSubregion(InPorts, MemoryRegion.CreateIo(Machine.System, "test-ports", 16, new MemoryRegionOps
            {
                Read = (a, _) => (a * 37) + 11,
                Write = (a, v, _) =>
                {
                    if (a == OutPort - InPorts)
                    {
                        lock (Outs)
                        {
                            Outs.Add((uint)v);
                        }
                    }
                    else if (a == DonePort - InPorts)
                    {
                        Done = (uint)v;
                    }
                },
                Valid = new ValidAccess { MaxAccessSize = 4 },
                Impl = new ImplAccess { MaxAccessSize = 4 },
            }), 1);
            Vcpu = Machine.CreateVcpu();
        }

        public Machine Machine { get; }

        public Vcpu Vcpu { get; }

        public List<uint> Outs { get; } = [];

        public uint? Done { get; private set; }

        public MemoryRegion Ram => ((X86Machine)Machine).Ram;

        public void Load()
        {
            Machine.Memory.Write(0x1000, Guest());
            Vcpu.SetRealMode(0, 0x1000);
        }

        /// <summary>Runs until the guest reports done or <paramref name="exits"/> exits have been served; returns the last exit.</summary>
        public VcpuExit Step(int exits, Action<int, VcpuExit>? after = null)
        {
            VcpuExit exit = default!;
            for (int i = 0; i < exits && Done is null; i++)
            {
                exit = Vcpu.RunOnce();
                Assert.True(exit.StopReason is null, $"guest stopped: {exit.Kind} {exit.Detail}");
                after?.Invoke(i, exit);
            }
            return exit;
        }

        public void Dispose()
        {
            Vcpu.Dispose();
            Machine.Dispose();
        }
    }

    private static (uint Done, List<uint> Outs) Uninterrupted(string machine)
    {
        using var r = new Run(machine);
        r.Load();
        r.Step(int.MaxValue);
        Assert.NotNull(r.Done);
        Assert.Equal(Iterations, r.Outs.Count);
        return (r.Done!.Value, r.Outs);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void StateAndRamMovedToANewMachineFinishAsAnUninterruptedRun(string machine)
    {
        KvmGuest.RequireKvm();
        (uint expected, List<uint> expectedOuts) = Uninterrupted(machine);

        using var source = new Run(machine);
        source.Load();
        // Stop right after an IN exit, whose result KVM only stores into AL on the next KVM_RUN.
        VcpuExit last = source.Step(301);
        Assert.Equal(VcpuExitKind.Io, last.Kind);
        Assert.False(last.IsWrite);
        Assert.True(source.Vcpu.CanSaveState);
        VcpuState state = source.Vcpu.SaveState();
        var bytes = new MemoryStream();
        state.Write(bytes);
        byte[] ram = new byte[source.Ram.RamBlock!.UsedLength];
        source.Ram.RamBlock.Read(0, ram);
        Assert.Contains(state.Parts, p => p.Name == "msrs");
        output.WriteLine(string.Join(", ", state.Parts.Select(p => $"{p.Name} {p.Data.Length} B")));
        output.WriteLine("skipped: " + string.Join(", ", ((IVcpuStateBackend)source.Vcpu.Backend).SkippedRegisters));
        Assert.Equal(machine != "microvm", state.Find("lapic") is not null);

        using var destination = new Run(machine);
        destination.Ram.RamBlock!.Write(0, ram);
        bytes.Position = 0;
        destination.Vcpu.LoadState(VcpuState.Read(bytes));
        destination.Step(int.MaxValue);

        Assert.Equal(expected, destination.Done);
        Assert.Equal(expectedOuts, source.Outs.Concat(destination.Outs));
    }

    [Fact]
    public void SaveAndLoadOnTheSameVcpuMidRunIsTransparent()
    {
        KvmGuest.RequireKvm();
        (uint expected, List<uint> expectedOuts) = Uninterrupted("pc");
        using var r = new Run("pc");
        r.Load();
        int roundTrips = 0;
        r.Step(int.MaxValue, (i, _) =>
        {
            if (i % 37 == 0)
            {
                VcpuState s = r.Vcpu.SaveState();
                r.Vcpu.LoadState(VcpuState.Read(new MemoryStream(s.ToArray())));
                roundTrips++;
            }
        });
        Assert.True(roundTrips > 10);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        VcpuState last = r.Vcpu.SaveState();
        for (int i = 0; i < 50; i++)
        {
            last = r.Vcpu.SaveState();
        }
        TimeSpan save = clock.Elapsed / 51;
        clock.Restart();
        for (int i = 0; i < 50; i++)
        {
            r.Vcpu.LoadState(last);
        }
        output.WriteLine($"SaveState {save.TotalMicroseconds:F0} us, LoadState {(clock.Elapsed / 50).TotalMicroseconds:F0} us, {last.ToArray().Length} bytes serialized");
        Assert.Equal(expected, r.Done);
        Assert.Equal(expectedOuts, r.Outs);
    }

    [Fact]
    public void SavingARunningVcpuIsRefusedAndPausedWorks()
    {
        KvmGuest.RequireKvm();
        using var r = new Run("pc");
        // An endless loop of port writes: the run thread never stops on its own.
        var a = new Assembler(16);
        Label loop = a.CreateLabel();
        a.Label(ref loop);
        a.mov(dx, OutPort);
        a.@out(dx, eax);
        a.inc(eax);
        a.jmp(loop);
        var code = new MemoryStream();
        a.Assemble(new StreamCodeWriter(code), 0x1000);
        r.Machine.Memory.Write(0x1000, code.ToArray());
        r.Vcpu.SetRealMode(0, 0x1000);
        r.Vcpu.Start();
        try
        {
            SpinWait.SpinUntil(() => { lock (r.Outs) { return r.Outs.Count > 10; } }, TimeSpan.FromSeconds(30));
            Assert.Throws<InvalidOperationException>(() => r.Vcpu.SaveState());
            Assert.True(r.Vcpu.Pause(TimeSpan.FromSeconds(10)));
            VcpuState s = r.Vcpu.SaveState();
            r.Vcpu.LoadState(s);
            r.Vcpu.Resume();
            Assert.Throws<InvalidOperationException>(() => r.Vcpu.LoadState(s));
        }
        finally
        {
            r.Vcpu.Stop();
            r.Vcpu.Join(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public void AStateOfAnotherKindOrWithBadPartsIsRefusedNamingThePart()
    {
        KvmGuest.RequireKvm();
        using var r = new Run("pc");
        r.Load();
        VcpuState good = r.Vcpu.SaveState();
        Assert.Contains("kind", Assert.Throws<VcpuStateException>(() => r.Vcpu.LoadState(new VcpuState("unicorn-x86", 0, good.Parts))).Message);
        var shortRegs = good.Parts.Select(p => p.Name == "regs" ? new VcpuStatePart("regs", new byte[10]) : p);
        Assert.Equal("regs", Assert.Throws<VcpuStateException>(() => r.Vcpu.LoadState(new VcpuState(good.Kind, 0, shortRegs))).Part);
        var noLapic = good.Parts.Where(p => p.Name != "lapic");
        Assert.Equal("lapic", Assert.Throws<VcpuStateException>(() => r.Vcpu.LoadState(new VcpuState(good.Kind, 0, noLapic))).Part);
        var badMsrs = good.Parts.Select(p => p.Name == "msrs" ? new VcpuStatePart("msrs", [5, 0, 0, 0, 0, 0, 0, 0]) : p);
        Assert.Equal("msrs", Assert.Throws<VcpuStateException>(() => r.Vcpu.LoadState(new VcpuState(good.Kind, 0, badMsrs))).Part);
        // Nothing was changed by the refused loads: the guest still finishes.
        r.Step(int.MaxValue);
        Assert.NotNull(r.Done);
    }

    [Fact]
    public void TheKvmClockCanBeReadAndSet()
    {
        KvmGuest.RequireKvm();
        using var m = Memspace.Machines.Machine.Create("pc", new MachineOptions { Accelerator = MachineAccelerator.Kvm, RamSize = 16UL << 20, Smm = false });
        KvmVm vm = m.Kvm!.RealVm!;
        KvmClock before = vm.GetClock();
        vm.SetClock(before.Nanoseconds + 1_000_000_000_000);
        KvmClock after = vm.GetClock();
        Assert.InRange(after.Nanoseconds, before.Nanoseconds + 1_000_000_000_000, before.Nanoseconds + 1_000_000_000_000 + 10_000_000_000);
    }
}
