using System.Buffers.Binary;
using Iced.Intel;
using Memspace.Machines;
using Memspace.Machines.Guests;
using Memspace.Migration;
using Memspace.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Memspace.Tests.Migration;

/// <summary>
/// A real guest on KVM keeps writing while it is migrated (two machines in one process, over loopback
/// TCP) or snapshotted and restored; afterwards it runs on and no write is lost or doubled.
/// </summary>
/// <remarks>
/// The guest (real mode, at 0x1000): forever, n = [0x500] + 1; write n into the first dword of page
/// 0x10000 + (n mod 144) * 4096; then store n at 0x500. So with N at 0x500, slot k holds the largest
/// i &lt;= N with i mod 144 = k, except that slot (N+1) mod 144 may already hold N+1.
/// </remarks>
[Collection(nameof(Memspace.Tests.Kvm.KvmLive))]
public sealed class LiveMigrationTests(ITestOutputHelper output)
{
    private const int Slots = 144;

    private static (Machine Machine, Vcpu Vcpu) Guest(string name)
    {
        KvmGuest.RequireKvm();
        Machine m = Machine.Create(name, new MachineOptions { RamSize = 64UL << 20, Accelerator = MachineAccelerator.Kvm });
        Vcpu v = m.CreateVcpu();
        return (m, v);
    }

    private static void LoadWriter(Machine m, Vcpu v)
    {
        var a = new Assembler(16);
        Label loop = a.CreateLabel();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.Label(ref loop);
        a.mov(eax, __dword_ptr[0x500]);
        a.inc(eax);
        a.mov(ebx, eax);
        a.xor(edx, edx);
        a.mov(ecx, Slots);
        a.div(ecx);
        a.shl(dx, 8);
        a.add(dx, 0x1000);
        a.mov(es, dx);
        a.mov(__dword_ptr.es[0], ebx);
        a.mov(__dword_ptr[0x500], ebx);
        a.jmp(loop);
        var code = new MemoryStream();
        a.Assemble(new StreamCodeWriter(code), 0x1000);
        m.Memory.Write(0x1000, code.ToArray());
        v.SetRealMode(0, 0x1000);
    }

    private static uint Counter(Machine m)
    {
        var b = new byte[4];
        m.Memory.Read(0x500, b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private static void WaitFor(Machine m, uint target)
    {
        Assert.True(SpinWait.SpinUntil(() => Counter(m) >= target, TimeSpan.FromSeconds(60)),
                    $"the guest's counter stayed at {Counter(m)} below {target}");
    }

    /// <summary>Checks every slot against the counter (the guest is paused).</summary>
    private static void Verify(Machine m)
    {
        uint n = Counter(m);
        var b = new byte[4];
        for (uint k = 0; k < Slots; k++)
        {
            m.Memory.Read(0x10000 + (k * 4096), b);
            uint got = BinaryPrimitives.ReadUInt32LittleEndian(b);
            uint expected = n < k ? 0 : n - ((n - k) % Slots);
            bool next = (n + 1) % Slots == k && got == n + 1;
            Assert.True(got == expected || next, $"slot {k}: {got}, expected {expected} with counter {n}");
        }
    }

    [Fact]
    public void AVcpuStateWithTrailingBytesIsRefused()
    {
        (Machine m, Vcpu v) = Guest("pc");
        using var _1 = m;
        using var _2 = v;
        var transfer = new VcpuTransfer([v], m.Kvm!.RealVm, running: false);
        byte[] state = transfer.Save(0);
        transfer.Load(0, state);
        Assert.Contains("vCPU 0: 3 unexpected bytes after its state", Assert.Throws<MigrationException>(() => transfer.Load(0, [.. state, 1, 2, 3])).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void AWritingGuestMigratesAndRunsOnWithNoWriteLost(string name)
    {
        (Machine src, Vcpu sv) = Guest(name);
        (Machine dst, Vcpu dv) = Guest(name);
        using var _1 = src;
        using var _2 = dst;
        using var _3 = sv;
        using var _4 = dv;
        LoadWriter(src, sv);
        sv.Start();
        WaitFor(src, 2000);
        var source = new VcpuTransfer([sv], src.Kvm!.RealVm, running: true);
        var destination = new VcpuTransfer([dv], dst.Kvm!.RealVm, running: false);
        (var s, var d) = MigrationFixtures.Connect();
        using var _5 = s;
        using var _6 = d;
        Exception? failure = null;
        var receiver = new Thread(() =>
        {
            try
            {
                new MigrationDestination(dst, destination).Receive(d, d);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        receiver.Start();
        // A bandwidth cap stretches round 0 over ~250 ms, so the guest surely writes while it runs.
        MigrationResult result = new MigrationSource(src, source, new MigrationOptions { MaxBandwidth = 4_000_000 }).Migrate(s, s);
        receiver.Join();
        Assert.Null(failure);
        sv.Stop();
        uint handedOver = Counter(src);
        Verify(src);
        WaitFor(dst, handedOver + 2000);
        Assert.True(dv.Pause(TimeSpan.FromSeconds(10)));
        Verify(dst);
        Assert.True(result.Downtime < TimeSpan.FromSeconds(5), result.ToString());
        // The guest wrote while round 0 ran: later passes carried the pages the dirty log caught.
        Assert.True(result.Rounds.Skip(1).Sum(r => r.PagesSent) > 0, result.ToString());
        dv.Stop();
    }

    [Theory]
    [InlineData("pc", false)]
    [InlineData("q35", true)]
    [InlineData("microvm", false)]
    public void AWritingGuestIsSnapshottedAndRestoredAndRunsOn(string name, bool copy)
    {
        string dir = Path.Combine(Path.GetTempPath(), "memspace-live-snapshot-" + Guid.NewGuid().ToString("N"));
        try
        {
            (Machine src, Vcpu sv) = Guest(name);
            uint saved;
            using (src)
            using (sv)
            {
                LoadWriter(src, sv);
                sv.Start();
                WaitFor(src, 2000);
                Snapshot.Save(src, new VcpuTransfer([sv], src.Kvm!.RealVm, running: true), dir);
                saved = Counter(src);
                Verify(src);
                sv.Stop();
            }
            Vcpu? dv = null;
            SnapshotRestoreResult r = Snapshot.Restore(dir, new SnapshotRestoreOptions { Copy = copy, BaseOptions = new MachineOptions { Accelerator = MachineAccelerator.Kvm } }, m =>
            {
                dv = m.CreateVcpu();
                return new VcpuTransfer([dv], m.Kvm!.RealVm, running: false);
            });
            using Machine dst = r.Machine;
            using Vcpu restored = dv!;
            WaitFor(dst, saved + 2000);
            Assert.True(restored.Pause(TimeSpan.FromSeconds(10)));
            Verify(dst);
            restored.Stop();
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    private const ulong DirtyRegion = 8UL << 20;

    private static (Machine Machine, DirtyPacer Pacer, Vcpu Vcpu) WritingGuest(string name, double rate)
    {
        KvmGuest.RequireKvm();
        Machine m = Memspace.Tests.Kvm.DirtyGuestTests.CreateMachine(name, DirtyRegion);
        DirtyPacer pacer = DirtyPacer.Attach(m, rate);
        return (m, pacer, m.CreateVcpu());
    }

    /// <summary>Lets the restored or migrated writing guest write <paramref name="more"/> pages, stops it and verifies strictly.</summary>
    private void RunOnAndVerify(Machine m, DirtyPacer pacer, Vcpu vcpu, ulong more)
    {
        ulong start = pacer.Writes;
        Assert.True(SpinWait.SpinUntil(() => pacer.Writes > start + more || pacer.BadPage is not null || vcpu.StopState is not null, TimeSpan.FromSeconds(60)), "the guest did not write on");
        Assert.Null(pacer.BadPage);
        pacer.RequestStop();
        Assert.True(SpinWait.SpinUntil(() => pacer.Stopped || vcpu.StopState is not null, TimeSpan.FromSeconds(30)), "the guest did not acknowledge the stop");
        vcpu.Stop();
        vcpu.Join(TimeSpan.FromSeconds(10));
        DirtyVerification v = DirtyVerifier.Verify(m.Memory, DirtyRegion / DirtyGuestLayout.PageSize);
        output.WriteLine(v.ToString());
        Assert.True(v.Ok, v.Problem);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    [InlineData("microvm")]
    public void TheWritingGuestMigratesAndVerifies(string name)
    {
        (Machine src, DirtyPacer sp, Vcpu sv) = WritingGuest(name, 0);
        (Machine dst, DirtyPacer dp, Vcpu dv) = WritingGuest(name, 0);
        using var _1 = src;
        using var _2 = dst;
        using var _3 = sv;
        using var _4 = dv;
        sv.Start();
        ulong pages = DirtyRegion / DirtyGuestLayout.PageSize;
        Assert.True(SpinWait.SpinUntil(() => sp.Writes > pages, TimeSpan.FromSeconds(60)), "the guest did not start writing");
        (var s, var d) = MigrationFixtures.Connect();
        using var _5 = s;
        using var _6 = d;
        Exception? failure = null;
        var receiver = new Thread(() =>
        {
            try
            {
                new MigrationDestination(dst, new VcpuTransfer([dv], dst.Kvm!.RealVm, running: false)).Receive(d, d);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        receiver.Start();
        MigrationResult result = new MigrationSource(src, new VcpuTransfer([sv], src.Kvm!.RealVm, running: true),
            new MigrationOptions { Progress = r => output.WriteLine(r.ToString()) }).Migrate(s, s);
        receiver.Join();
        Assert.Null(failure);
        output.WriteLine(result.ToString());
        sv.Stop();
        // The source is paused wherever the guest was; the destination took over from exactly there.
        Assert.True(DirtyVerifier.Verify(src.Memory, pages, paused: true).Ok);
        RunOnAndVerify(dst, dp, dv, pages);
    }

    [Theory]
    [InlineData("pc", false)]
    [InlineData("q35", false)]
    [InlineData("microvm", true)]
    public void TheWritingGuestIsSnapshottedRestoredAndVerifies(string name, bool copy)
    {
        string dir = Path.Combine(Path.GetTempPath(), "memspace-dirty-snapshot-" + Guid.NewGuid().ToString("N"));
        try
        {
            ulong pages = DirtyRegion / DirtyGuestLayout.PageSize;
            (Machine src, DirtyPacer sp, Vcpu sv) = WritingGuest(name, 0);
            using (src)
            using (sv)
            {
                sv.Start();
                Assert.True(SpinWait.SpinUntil(() => sp.Writes > pages, TimeSpan.FromSeconds(60)), "the guest did not start writing");
                output.WriteLine(Snapshot.Save(src, new VcpuTransfer([sv], src.Kvm!.RealVm, running: true), dir).ToString());
                Assert.True(DirtyVerifier.Verify(src.Memory, pages, paused: true).Ok);
                sv.Stop();
            }
            Vcpu? dv = null;
            DirtyPacer? dp = null;
            byte[] firmware = DirtyGuest.Build(DirtyRegion, name == "microvm" ? 64 * 1024 : 256 * 1024);
            SnapshotRestoreResult r = Snapshot.Restore(dir, new SnapshotRestoreOptions
            {
                Copy = copy,
                BaseOptions = new MachineOptions { Accelerator = MachineAccelerator.Kvm, Firmware = firmware },
            }, m =>
            {
                dp = DirtyPacer.Attach(m, 0);
                dv = m.CreateVcpu();
                return new VcpuTransfer([dv], m.Kvm!.RealVm, running: false);
            });
            output.WriteLine(r.ToString());
            using Machine dst = r.Machine;
            using Vcpu restored = dv!;
            RunOnAndVerify(dst, dp!, restored, pages);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
