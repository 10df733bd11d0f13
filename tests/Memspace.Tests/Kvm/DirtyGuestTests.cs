using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Machines.Guests;
using Memspace.Tests.Support;

namespace Memspace.Tests.Kvm;

/// <summary>The writing guest on real KVM (skipped without it), its pacing device and the verifier.</summary>
[Collection(nameof(KvmLive))]
public class DirtyGuestTests(ITestOutputHelper output)
{
    private const ulong Region = 4UL << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    internal static Machine CreateMachine(string name, ulong region)
        => Machine.Create(name, DirtyGuest.Configure(new MachineOptions { Accelerator = MachineAccelerator.Kvm, RamSize = 64UL << 20, Smm = false }, name, region));

    /// <summary>Starts the guest, lets it write until <paramref name="until"/> holds, stops it and returns the vCPU stopped.</summary>
    internal static void RunUntil(Machine machine, DirtyPacer pacer, Func<bool> until)
    {
        using Vcpu vcpu = machine.CreateVcpu();
        vcpu.Start();
        try
        {
            Assert.True(SpinWait.SpinUntil(() => until() || pacer.BadPage is not null || vcpu.StopState is not null, Timeout),
                "the guest did not make progress");
            Assert.Null(vcpu.StopState);
            pacer.RequestStop();
            Assert.True(SpinWait.SpinUntil(() => pacer.Stopped || pacer.BadPage is not null || vcpu.StopState is not null, Timeout),
                "the guest did not acknowledge the stop");
        }
        finally
        {
            vcpu.Stop();
            vcpu.Join(TimeSpan.FromSeconds(10));
        }
        Assert.Null(pacer.BadPage);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void WritesAndVerifies(string name)
    {
        KvmGuest.RequireKvm();
        using Machine machine = CreateMachine(name, Region);
        DirtyPacer pacer = DirtyPacer.Attach(machine, rate: 0);
        ulong pages = Region / DirtyGuestLayout.PageSize;
        // More than two passes, so that every page is checked by the guest itself at least once.
        RunUntil(machine, pacer, () => pacer.Writes > (2 * pages) + 17);
        DirtyVerification v = DirtyVerifier.Verify(machine.Memory, pages);
        output.WriteLine(v.ToString());
        Assert.True(v.Ok, v.Problem);
        Assert.True(v.Writes > 2 * pages);
        Assert.Equal(pacer.Writes, v.Writes);
        Assert.Equal(pacer.Checksum, v.Checksum);
        Assert.Contains(machine.StateDevices, d => d is DirtyPacer);
    }

    [Fact]
    public void ACorruptedPageAndADoubledWriteAreNamed()
    {
        KvmGuest.RequireKvm();
        using Machine machine = CreateMachine("microvm", Region);
        DirtyPacer pacer = DirtyPacer.Attach(machine, rate: 0);
        ulong pages = Region / DirtyGuestLayout.PageSize;
        RunUntil(machine, pacer, () => pacer.Writes > pages + 100);
        Assert.True(DirtyVerifier.Verify(machine.Memory, pages).Ok);

        // One byte inside page 300.
        ulong at = DirtyGuestLayout.RegionBase + (300 * DirtyGuestLayout.PageSize) + 0x567;
        byte[] one = new byte[1];
        machine.Memory.Read(at, one);
        machine.Memory.Write(at, [(byte)(one[0] ^ 0x10)]);
        DirtyVerification corrupt = DirtyVerifier.Verify(machine.Memory, pages);
        Assert.False(corrupt.Ok);
        Assert.Equal(300UL, corrupt.FirstBadPage);
        Assert.Contains("page 300", corrupt.Problem);
        machine.Memory.Write(at, one);

        // A doubled write: page 7 one visit ahead (count and pattern of the next visit).
        ulong page7 = DirtyGuestLayout.RegionBase + (7 * DirtyGuestLayout.PageSize);
        ulong count = machine.Memory.LoadU64Le(page7, out _, MemTxAttrs.UnspecifiedAttrs);
        byte[] doubled = new byte[DirtyGuestLayout.PageSize];
        for (int q = 0; q < doubled.Length; q += 8)
        {
            BitConverter.TryWriteBytes(doubled.AsSpan(q), DirtyGuestLayout.Pattern(7, count + 1));
        }
        BitConverter.TryWriteBytes(doubled.AsSpan(0), count + 1);
        BitConverter.TryWriteBytes(doubled.AsSpan(8), 7UL);
        machine.Memory.Write(page7, doubled);
        DirtyVerification twice = DirtyVerifier.Verify(machine.Memory, pages);
        Assert.False(twice.Ok);
        Assert.Equal(7UL, twice.FirstBadPage);
        Assert.Contains("doubled", twice.Problem);

        // A wrong checksum is named too.
        DirtyVerification sum = DirtyVerifier.Verify(machine.Memory, pages, twice.Writes, twice.Checksum ^ 1);
        Assert.False(sum.Ok);
    }

    [Fact]
    public void ThePacerHoldsTheRate()
    {
        KvmGuest.RequireKvm();
        using Machine machine = CreateMachine("microvm", Region);
        DirtyPacer pacer = DirtyPacer.Attach(machine, rate: 2000);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan? start = null;
        RunUntil(machine, pacer, () =>
        {
            start ??= pacer.FirstReport;
            return start is not null && pacer.Elapsed - start.Value > TimeSpan.FromSeconds(1);
        });
        double seconds = (pacer.Elapsed - start!.Value).TotalSeconds;
        double rate = pacer.Writes / seconds;
        output.WriteLine($"{pacer.Writes} writes in {seconds:F2} s: {rate:F0} pages/s at a set rate of 2000");
        Assert.InRange(rate, 1000, 2600);
        Assert.True(DirtyVerifier.Verify(machine.Memory, Region / DirtyGuestLayout.PageSize).Ok);
    }
}

/// <summary>The writing guest moved between machines and reloaded in place, as a snapshot or a migration does, with no write lost or doubled.</summary>
[Collection(nameof(KvmLive))]
public class DirtyGuestRestoreTests(ITestOutputHelper output)
{
    private const ulong Region = 8UL << 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("pc", 0)]
    [InlineData("q35", 50000)]
    [InlineData("microvm", 0)]
    [InlineData("microvm", 50000)]
    public void MovedToANewMachineItGoesOnWithoutLosingAWrite(string name, double rate)
    {
        KvmGuest.RequireKvm();
        ulong pages = Region / DirtyGuestLayout.PageSize;
        using Machine source = DirtyGuestTests.CreateMachine(name, Region);
        DirtyPacer sourcePacer = DirtyPacer.Attach(source, rate);
        using Vcpu sourceVcpu = source.CreateVcpu();
        sourceVcpu.Start();
        Assert.True(SpinWait.SpinUntil(() => sourcePacer.Writes > pages + 100 || sourceVcpu.StopState is not null, Timeout));
        Assert.True(sourceVcpu.Pause(TimeSpan.FromSeconds(10)));
        VcpuState cpu = VcpuState.Read(new MemoryStream(sourceVcpu.SaveState().ToArray()));
        var pacerState = new Memspace.Machines.State.DeviceStateWriter();
        sourcePacer.SaveState(pacerState);
        var ram = new byte[((X86Machine)source).Ram.RamBlock!.UsedLength];
        ((X86Machine)source).Ram.RamBlock!.Read(0, ram);
        KvmClock clock = source.Kvm!.RealVm!.GetClock();
        DirtyVerification atPause = DirtyVerifier.Verify(source.Memory, pages, paused: true);
        Assert.True(atPause.Ok, atPause.Problem);
        sourceVcpu.Stop();
        sourceVcpu.Join(TimeSpan.FromSeconds(10));

        using Machine destination = DirtyGuestTests.CreateMachine(name, Region);
        DirtyPacer pacer = DirtyPacer.Attach(destination, 0);
        pacer.LoadState(new Memspace.Machines.State.DeviceStateReader(pacer.StateName, pacer.StateVersion, pacerState.ToArray()));
        Assert.Equal(rate, pacer.Rate);
        ((X86Machine)destination).Ram.RamBlock!.Write(0, ram);
        using Vcpu vcpu = destination.CreateVcpu();
        vcpu.LoadState(cpu);
        destination.Kvm!.RealVm!.SetClock(clock.Nanoseconds);
        ulong before = atPause.Writes;
        vcpu.Start();
        try
        {
            Assert.True(SpinWait.SpinUntil(() => pacer.Writes > before + pages + 50 || pacer.BadPage is not null || vcpu.StopState is not null, Timeout),
                $"the restored guest made no progress past {before} writes: {vcpu.StopState?.Detail}");
            Assert.Null(pacer.BadPage);
            pacer.RequestStop();
            Assert.True(SpinWait.SpinUntil(() => pacer.Stopped || pacer.BadPage is not null || vcpu.StopState is not null, Timeout));
        }
        finally
        {
            vcpu.Stop();
            vcpu.Join(TimeSpan.FromSeconds(10));
        }
        DirtyVerification v = DirtyVerifier.Verify(destination.Memory, pages);
        output.WriteLine($"paused at {before} writes; {v}");
        Assert.True(v.Ok, v.Problem);
        Assert.True(v.Writes > before + pages);
    }

    [Fact]
    public void SavedAndReloadedInPlaceManyTimesItStillVerifies()
    {
        KvmGuest.RequireKvm();
        ulong pages = Region / DirtyGuestLayout.PageSize;
        using Machine machine = DirtyGuestTests.CreateMachine("pc", Region);
        DirtyPacer pacer = DirtyPacer.Attach(machine, 200_000);
        using Vcpu vcpu = machine.CreateVcpu();
        vcpu.Start();
        try
        {
            Assert.True(SpinWait.SpinUntil(() => pacer.Writes > 0, Timeout));
            for (int i = 0; i < 30; i++)
            {
                Assert.True(vcpu.Pause(TimeSpan.FromSeconds(10)));
                vcpu.LoadState(vcpu.SaveState());
                ulong before = pacer.Writes;
                vcpu.Resume();
                // The reloaded guest must make progress before the next cycle.
                Assert.True(SpinWait.SpinUntil(() => pacer.Writes > before || pacer.BadPage is not null, Timeout));
            }
            Assert.True(SpinWait.SpinUntil(() => pacer.Writes > pages * 2 || pacer.BadPage is not null, Timeout));
            pacer.RequestStop();
            Assert.True(SpinWait.SpinUntil(() => pacer.Stopped || pacer.BadPage is not null || vcpu.StopState is not null, Timeout));
        }
        finally
        {
            vcpu.Stop();
            vcpu.Join(TimeSpan.FromSeconds(10));
        }
        Assert.Null(pacer.BadPage);
        DirtyVerification v = DirtyVerifier.Verify(machine.Memory, pages);
        Assert.True(v.Ok, v.Problem);
    }
}

/// <summary>Saving right after a port read in ring 3 completes the read first, as the KVM API requires.</summary>
[Collection(nameof(KvmLive))]
public class PendingReadCompletionTests
{
    [Fact]
    public void ARing3PortReadIsCompletedBeforeTheStateIsSaved()
    {
        KvmGuest.RequireKvm();
        using Machine machine = DirtyGuestTests.CreateMachine("microvm", 4UL << 20);
        DirtyPacer.Attach(machine, 0);
        using Vcpu vcpu = machine.CreateVcpu();
        int checkedReads = 0;
        for (int n = 0; n < 100_000 && checkedReads < 3; n++)
        {
            VcpuExit exit = vcpu.RunOnce();
            Assert.Null(exit.StopReason);
            if (exit.Kind != VcpuExitKind.Io || exit.IsWrite || exit.Address != DirtyGuestLayout.PortCredit)
            {
                continue;
            }
            // KVM has not yet put the value in EAX nor moved RIP past the IN (0xed)...
            X86Registers before = vcpu.GetRegisters();
            VcpuState state = vcpu.SaveState();
            ulong rip = BitConverter.ToUInt64(state.Get("regs"), 128);
            ulong rax = BitConverter.ToUInt64(state.Get("regs"), 0);
            byte[] opcode = new byte[1];
            machine.Memory.Read(rip - 1, opcode);
            // ...the saved state has both: the read is complete.
            Assert.Equal(before.Rip + 1, rip);
            Assert.Equal(0xed, opcode[0]);
            Assert.Equal(exit.Data, rax & 0xffff_ffff);
            checkedReads++;
        }
        Assert.Equal(3, checkedReads);
    }
}
