using Memspace.Ram;
using Memspace.Regions;
using Memspace.Tests.Support;
using static Memspace.Tests.Support.Build;

namespace Memspace.Tests.Listeners;

/// <summary>Transactions and listener callbacks: cases 16 and 27-40 of the semantics digest.</summary>
public class TransactionTests
{
    [Fact]
    public void Case16_DiffDeletesInAddressOrderThenAdds()
    {
        var (s, root, space) = Machine();
        MemoryRegion l = R(s, "L", 0x3000);
        MemoryRegion u = M(s, "U", 0x1000);
        root.AddSubregion(0, l);
        root.AddSubregion(0x1000, u, 1);
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        u.SetEnabled(false);
        Assert.Equal(
        [
            "l:begin",
            "l:del L [0x0,0x1000)",
            "l:del U [0x1000,0x2000)",
            "l:del L [0x2000,0x3000)@0x2000",
            "l:add L [0x0,0x3000)",
            "l:commit",
        ], rec.Log);
    }

    [Fact]
    public void Case27_OneTransactionOneBracket()
    {
        var (s, root, space) = Machine();
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        s.BeginTransaction();
        root.AddSubregion(0x2000, R(s, "B", 0x1000));
        root.AddSubregion(0x1000, R(s, "A", 0x1000));
        s.CommitTransaction();
        Assert.Equal(["l:begin", "l:add A [0x1000,0x2000)", "l:add B [0x2000,0x3000)", "l:commit"], rec.Log);

        rec.Log.Clear();
        root.AddSubregion(0x3000, R(s, "C", 0x1000));
        root.AddSubregion(0x4000, R(s, "D", 0x1000));
        Assert.Equal(
        [
            "l:begin", "l:nop A [0x1000,0x2000)", "l:nop B [0x2000,0x3000)", "l:add C [0x3000,0x4000)", "l:commit",
            "l:begin", "l:nop A [0x1000,0x2000)", "l:nop B [0x2000,0x3000)", "l:nop C [0x3000,0x4000)", "l:add D [0x4000,0x5000)", "l:commit",
        ], rec.Log);
    }

    [Fact]
    public void Case28_NestedTransactionsCommitAtTheOutermostLevel()
    {
        var (s, root, space) = Machine();
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        s.BeginTransaction();
        s.BeginTransaction();
        root.AddSubregion(0, R(s, "A", 0x1000));
        s.CommitTransaction();
        Assert.Empty(rec.Log);
        Assert.Empty(space.CurrentMap.Ranges);
        s.CommitTransaction();
        Assert.Equal(["l:begin", "l:add A [0x0,0x1000)", "l:commit"], rec.Log);
        Assert.Equal(0, s.TransactionDepth);
    }

    [Fact]
    public void Case29_CommitWithNothingPendingIsSilent()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0, R(s, "A", 0x1000));
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        long commits = s.CommitCount;
        using (s.Transaction())
        {
        }
        root.Subregions[0].SetAddress(0);
        root.Subregions[0].SetEnabled(true);
        Assert.Empty(rec.Log);
        Assert.Equal(commits, s.CommitCount);
    }

    [Fact]
    public void Case30_AttributeChangeIsDelThenAdd()
    {
        var (s, root, space) = Machine();
        MemoryRegion rd = MemoryRegion.CreateRomDevice(s, "flash", 0x1000, DummyOps);
        rd.SetRomd(false);
        root.AddSubregion(0, rd);
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        rd.SetRomd(true);
        Assert.Equal(["l:begin", "l:del flash [0x0,0x1000)", "l:add flash [0x0,0x1000)", "l:commit"], rec.Log);
    }

    [Fact]
    public void Case31_UnchangedRangesGetNopOnEveryCommit()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0, R(s, "A", 0x1000));
        root.AddSubregion(0x2000, R(s, "B", 0x1000));
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        root.AddSubregion(0x8000, M(s, "C", 0x100));
        Assert.Equal(["l:begin", "l:nop A [0x0,0x1000)", "l:nop B [0x2000,0x3000)", "l:add C [0x8000,0x8100)", "l:commit"], rec.Log);
    }

    [Fact]
    public void Case32_ForwardAndReverseOrder()
    {
        var (s, root, space) = Machine();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("L10", log, 10));
        space.RegisterListener(new RecordingListener("L0", log, 0));
        log.Clear();
        MemoryRegion a = R(s, "A", 0x1000);
        root.AddSubregion(0, a);
        Assert.Equal(["L0:begin", "L10:begin", "L0:add A [0x0,0x1000)", "L10:add A [0x0,0x1000)", "L0:commit", "L10:commit"], log);
        log.Clear();
        root.RemoveSubregion(a);
        Assert.Equal(["L0:begin", "L10:begin", "L10:del A [0x0,0x1000)", "L0:del A [0x0,0x1000)", "L0:commit", "L10:commit"], log);
    }

    [Fact]
    public void Case33_EqualPrioritiesKeepRegistrationOrder()
    {
        var (s, root, space) = Machine();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("first", log, 5));
        space.RegisterListener(new RecordingListener("second", log, 5));
        space.RegisterListener(new RecordingListener("third", log, 5));
        Assert.Equal(["first", "second", "third"], s.Listeners.Select(l => l.Name));
        log.Clear();
        MemoryRegion a = R(s, "A", 0x1000);
        root.AddSubregion(0, a);
        root.RemoveSubregion(a);
        Assert.Equal(
        [
            "first:begin", "second:begin", "third:begin",
            "first:add A [0x0,0x1000)", "second:add A [0x0,0x1000)", "third:add A [0x0,0x1000)",
            "first:commit", "second:commit", "third:commit",
            "first:begin", "second:begin", "third:begin",
            "third:del A [0x0,0x1000)", "second:del A [0x0,0x1000)", "first:del A [0x0,0x1000)",
            "first:commit", "second:commit", "third:commit",
        ], log);
    }

    [Fact]
    public void Case34_RegistrationReplaysTheCurrentViewToTheNewListenerOnly()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0x2000, R(s, "B", 0x1000));
        root.AddSubregion(0x0, R(s, "A", 0x1000));
        root.AddSubregion(0x4000, R(s, "C", 0x1000));
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("old", log));
        log.Clear();
        space.RegisterListener(new RecordingListener("new", log));
        Assert.Equal(["new:begin", "new:add A [0x0,0x1000)", "new:add B [0x2000,0x3000)", "new:add C [0x4000,0x5000)", "new:commit"], log);
    }

    [Fact]
    public void Case34_RegistrationOnAnEmptyViewReplaysNothing()
    {
        // The seed thread's confusion: the accelerator's listener is registered before the board
        // builds memory, so its replay has no ranges; slots come later from ordinary region_adds.
        var (s, root, space) = Machine();
        var rec = new RecordingListener("kvm", 10);
        space.RegisterListener(rec);
        Assert.Equal(["kvm:begin", "kvm:commit"], rec.Log);
        rec.Log.Clear();
        root.AddSubregion(0, R(s, "pc.ram", 0x100000));
        Assert.Equal(["kvm:begin", "kvm:add pc.ram [0x0,0x100000)", "kvm:commit"], rec.Log);
    }

    [Fact]
    public void Case34_RegistrationWhileGlobalDirtyTrackingIsOn()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0, R(s, "ram", 0x1000));
        root.AddSubregion(0x1000, M(s, "mmio", 0x1000));
        s.GlobalDirtyLogStart(GlobalDirtyFlags.Migration);
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        Assert.Equal(
        [
            "l:begin", "l:log_global_start",
            "l:add ram [0x0,0x1000)", "l:log_start ram [0x0,0x1000) 0->4",
            "l:add mmio [0x1000,0x2000)",
            "l:commit",
        ], rec.Log);
    }

    [Fact]
    public void Case35_UnregisterMirrorsRegistration()
    {
        var (s, root, space) = Machine();
        MemoryRegion vram = R(s, "vram", 0x1000);
        vram.SetLog(true, DirtyMemoryClient.Vga);
        root.AddSubregion(0, vram);
        MemoryRegion io = M(s, "io", 0x1000);
        root.AddSubregion(0x1000, io);
        io.AddEventfd(0x10, 4, false, 0, new EventNotifier());
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        space.UnregisterListener(rec);
        Assert.Equal(
        [
            "l:begin",
            "l:log_stop vram [0x0,0x1000) 1->0", "l:del vram [0x0,0x1000)",
            "l:del io [0x1000,0x2000)",
            "l:eventfd_del 0x1010/4",
            "l:commit",
        ], rec.Log);
        Assert.Null(s.AddressSpaceOf(rec));
        Assert.Empty(space.Listeners);
    }

    [Fact]
    public void Case36_IoeventfdChangesAreReportedAloneWithOppositeOrder()
    {
        var (s, root, space) = Machine();
        MemoryRegion io = M(s, "io", 0x1000);
        root.AddSubregion(0x1000, io);
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("L0", log, 0));
        space.RegisterListener(new RecordingListener("L10", log, 10));
        log.Clear();
        var e = new EventNotifier();
        io.AddEventfd(0x10, 4, true, 0x1234, e);
        Assert.Equal(["L10:eventfd_add 0x1010/4=1234", "L0:eventfd_add 0x1010/4=1234"], log);
        log.Clear();
        io.RemoveEventfd(0x10, 4, true, 0x1234, e);
        Assert.Equal(["L0:eventfd_del 0x1010/4=1234", "L10:eventfd_del 0x1010/4=1234"], log);
        Assert.Empty(space.Ioeventfds);
    }

    [Fact]
    public void Case37_IoeventfdOnARegionMappedTwice()
    {
        var (s, root, space) = Machine();
        MemoryRegion io = M(s, "io", 0x1000);
        root.AddSubregion(0x1000, io);
        root.AddSubregion(0x8000, A(s, "mirror", io, 0, 0x1000));
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        io.AddEventfd(0x20, 2, false, 0, new EventNotifier());
        Assert.Equal(["l:eventfd_add 0x1020/2", "l:eventfd_add 0x8020/2"], rec.Log);
        Assert.Equal([0x1020ul, 0x8020ul], space.Ioeventfds.Select(f => f.Address));
    }

    [Fact]
    public void Case38_SizeZeroIoeventfdMatchesAnyWidth()
    {
        var (s, root, _) = Machine();
        MemoryRegion io = M(s, "io", 0x1000);
        root.AddSubregion(0, io);
        var e = new EventNotifier();
        io.AddEventfd(0x40, 0, false, 0, e);
        // Removing with a concrete width matches the wildcard entry.
        io.RemoveEventfd(0x40, 4, false, 0, e);
        Assert.Empty(io.Ioeventfds);
        Assert.Throws<MemoryTopologyException>(() => io.RemoveEventfd(0x40, 4, false, 0, e));
    }

    [Fact]
    public void Case39_VgaLoggingIsCounted()
    {
        var (s, root, space) = Machine();
        MemoryRegion vram = R(s, "vram", 0x1000);
        root.AddSubregion(0, vram);
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        vram.SetLog(true, DirtyMemoryClient.Vga);
        Assert.Equal(["l:begin", "l:nop vram [0x0,0x1000)", "l:log_start vram [0x0,0x1000) 0->1", "l:commit"], rec.Log);
        rec.Log.Clear();
        vram.SetLog(true, DirtyMemoryClient.Vga);
        vram.SetLog(false, DirtyMemoryClient.Vga);
        Assert.Empty(rec.Log);
        Assert.True(vram.IsLogging(DirtyMemoryClient.Vga));
        vram.SetLog(false, DirtyMemoryClient.Vga);
        Assert.Equal(["l:begin", "l:nop vram [0x0,0x1000)", "l:log_stop vram [0x0,0x1000) 1->0", "l:commit"], rec.Log);
        Assert.Throws<MemoryTopologyException>(() => vram.SetLog(false, DirtyMemoryClient.Vga));
        Assert.Throws<ArgumentOutOfRangeException>(() => vram.SetLog(true, DirtyMemoryClient.Migration));
    }

    [Fact]
    public void Case40_GlobalDirtyLogStartAndStop()
    {
        var (s, root, space) = Machine();
        MemoryRegion vram = R(s, "vram", 0x1000);
        vram.SetLog(true, DirtyMemoryClient.Vga);
        root.AddSubregion(0, vram);
        root.AddSubregion(0x1000, M(s, "mmio", 0x1000));
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("A", log, 0));
        space.RegisterListener(new RecordingListener("B", log, 1));
        log.Clear();
        s.GlobalDirtyLogStart(GlobalDirtyFlags.Migration);
        Assert.Equal(
        [
            "A:log_global_start", "B:log_global_start",
            "A:begin", "B:begin",
            "A:nop vram [0x0,0x1000)", "B:nop vram [0x0,0x1000)",
            "A:log_start vram [0x0,0x1000) 1->5", "B:log_start vram [0x0,0x1000) 1->5",
            "A:nop mmio [0x1000,0x2000)", "B:nop mmio [0x1000,0x2000)",
            "A:commit", "B:commit",
        ], log);
        log.Clear();
        s.GlobalDirtyLogStart(GlobalDirtyFlags.DirtyRate);
        Assert.Empty(log);
        s.GlobalDirtyLogStop(GlobalDirtyFlags.Migration);
        Assert.Empty(log);
        s.GlobalDirtyLogStop(GlobalDirtyFlags.DirtyRate);
        Assert.Equal(
        [
            "A:begin", "B:begin",
            "A:nop vram [0x0,0x1000)", "B:nop vram [0x0,0x1000)",
            "B:log_stop vram [0x0,0x1000) 5->1", "A:log_stop vram [0x0,0x1000) 5->1",
            "A:nop mmio [0x1000,0x2000)", "B:nop mmio [0x1000,0x2000)",
            "A:commit", "B:commit",
            "B:log_global_stop", "A:log_global_stop",
        ], log);
        Assert.Throws<InvalidOperationException>(() => s.GlobalDirtyLogStop(GlobalDirtyFlags.Migration));
    }

    [Fact]
    public void ListenersOfOtherAddressSpacesSeeOnlyTheirOwnRangesButEveryBracket()
    {
        var (s, root, memory) = Machine();
        MemoryRegion io = C(s, "io", 0x10000);
        AddressSpace ioSpace = s.CreateAddressSpace(io, "I/O");
        var log = new List<string>();
        memory.RegisterListener(new RecordingListener("mem", log));
        ioSpace.RegisterListener(new RecordingListener("io", log));
        log.Clear();
        io.AddSubregion(0x3f8, M(s, "serial", 8));
        Assert.Equal(["mem:begin", "io:begin", "io:add serial [0x3f8,0x400)", "mem:commit", "io:commit"], log);
    }

    [Fact]
    public void CoalescedRangesAreReportedAtOnce()
    {
        var (s, root, space) = Machine();
        MemoryRegion io = M(s, "io", 0x1000);
        root.AddSubregion(0x1000, io);
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        rec.Log.Clear();
        io.AddCoalescing(0x100, 0x100);
        Assert.Equal(["l:coalesced_add 0x1100+0x100"], rec.Log);
        Assert.True(io.FlushCoalescedMmio);
        rec.Log.Clear();
        root.RemoveSubregion(io);
        Assert.Equal(["l:begin", "l:coalesced_del 0x1100+0x100", "l:del io [0x1000,0x2000)", "l:commit"], rec.Log);
        rec.Log.Clear();
        root.AddSubregion(0x4000, io);
        Assert.Equal(["l:begin", "l:add io [0x4000,0x5000)", "l:coalesced_add 0x4100+0x100", "l:commit"], rec.Log);
        rec.Log.Clear();
        io.ClearCoalescing();
        Assert.Equal(["l:coalesced_del 0x4100+0x100"], rec.Log);
        Assert.False(io.FlushCoalescedMmio);
    }

    [Fact]
    public void Qemu72ReplayOmitsIoeventfds()
    {
        var s = new MemorySystem(new MemorySystemOptions { ReplayIoeventfdsAndCoalescing = false });
        MemoryRegion root = C(s, "system", Max);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        MemoryRegion io = M(s, "io", 0x1000);
        root.AddSubregion(0, io);
        io.AddEventfd(0x10, 4, false, 0, new EventNotifier());
        var rec = new RecordingListener("l");
        space.RegisterListener(rec);
        Assert.Equal(["l:begin", "l:add io [0x0,0x1000)", "l:commit"], rec.Log);
    }

    [Fact]
    public void ListenersCannotChangeTheTopologyFromACallback()
    {
        var (s, root, space) = Machine();
        var evil = new MutatingListener(root);
        space.RegisterListener(evil);
        root.AddSubregion(0, R(s, "A", 0x1000));
        Assert.IsType<InvalidOperationException>(evil.Caught);
        Assert.Equal(0, s.TransactionDepth);
        Assert.Single(root.Subregions);
    }

    private sealed class MutatingListener(MemoryRegion root) : Memspace.Listeners.MemoryListener("evil")
    {
        public Exception? Caught { get; private set; }

        public override void RegionAdd(in Memspace.Listeners.MemoryRegionSection section)
        {
            try
            {
                root.AddSubregion(0x10000, R((MemorySystem)root.System, "B", 0x1000));
            }
            catch (Exception e)
            {
                Caught = e;
            }
        }
    }
}
