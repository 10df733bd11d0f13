using Memspace.Regions;
using static Memspace.Tests.Support.Build;

namespace Memspace.Tests.Regions;

/// <summary>Region kinds, attributes and graph operations, including misuse.</summary>
public class RegionGraphTests
{
    [Fact]
    public void KindsHaveQemusAttributes()
    {
        var s = new MemorySystem();
        MemoryRegion c = C(s, "c", 0x1000);
        Assert.False(c.Terminates);
        Assert.False(c.IsRam);

        MemoryRegion io = M(s, "io", 0x1000);
        Assert.True(io.Terminates);
        Assert.Same(DummyOps, io.Ops);

        MemoryRegion res = MemoryRegion.CreateReservation(s, "res", 0x1000);
        Assert.True(res.Terminates);
        Assert.Same(MemoryRegionOps.Unassigned, res.Ops);

        MemoryRegion ram = R(s, "ram", 0x1000);
        Assert.True(ram.IsRam && ram.Terminates && !ram.ReadOnly && !ram.IsRom);

        MemoryRegion rom = O(s, "rom", 0x1000);
        Assert.True(rom.IsRam && rom.ReadOnly && rom.IsRom);

        MemoryRegion rd = MemoryRegion.CreateRomDevice(s, "rd", 0x1000, DummyOps);
        Assert.True(rd.IsRomDevice && rd.RomdMode && rd.IsRomd && !rd.IsRam);
        rd.SetRomd(false);
        Assert.False(rd.IsRomd);

        MemoryRegion ramd = MemoryRegion.CreateRamDevice(s, "ramd", 0x1000);
        Assert.True(ramd.IsRam && ramd.IsRamDevice);

        MemoryRegion alias = A(s, "alias", ram, 0x10, 0x100);
        Assert.True(alias.IsAlias && !alias.Terminates);
        Assert.Same(ram, alias.AliasTarget);
        Assert.Equal(0x10ul, alias.AliasOffset);
        Assert.True(alias.Enabled);
        Assert.Equal(0, alias.Priority);
    }

    [Fact]
    public void SizesUpToTwoToThe64()
    {
        var s = new MemorySystem();
        Assert.Equal(MemoryRegion.Size2To64, C(s, "max", MemoryRegion.Size2To64).Size);
        Assert.Equal(MemoryRegion.Size2To64, C(s, "u64max", ulong.MaxValue).Size);
        Assert.Equal((UInt128)(ulong.MaxValue - 1), C(s, "almost", ulong.MaxValue - 1).Size);
        Assert.Throws<ArgumentOutOfRangeException>(() => C(s, "too big", MemoryRegion.Size2To64 + 1));
        MemoryRegion r = C(s, "r", 0x1000);
        r.SetSize(ulong.MaxValue);
        Assert.Equal(MemoryRegion.Size2To64, r.Size);
        Assert.Throws<ArgumentOutOfRangeException>(() => r.SetSize(MemoryRegion.Size2To64 * 2));
        Assert.Equal(MemoryRegion.Size2To64, r.Size);
    }

    [Fact]
    public void SubregionsAreOrderedByPriorityThenRecency()
    {
        var s = new MemorySystem();
        MemoryRegion c = C(s, "c", 0x10000);
        MemoryRegion a = M(s, "a", 0x100), b = M(s, "b", 0x100), hi = M(s, "hi", 0x100), lo = M(s, "lo", 0x100);
        c.AddSubregion(0, a);
        c.AddSubregion(0x100, b);
        c.AddSubregion(0x200, hi, 3);
        c.AddSubregion(0x300, lo, -3);
        Assert.Equal(["hi", "b", "a", "lo"], c.Subregions.Select(r => r.Name));
        // Moving a region re-inserts it: it becomes the most recent among equals.
        a.SetAddress(0x400);
        Assert.Equal(["hi", "a", "b", "lo"], c.Subregions.Select(r => r.Name));
        Assert.Equal(0x400ul, a.Address);
    }

    [Fact]
    public void AddingToTwoContainersIsRejected()
    {
        var s = new MemorySystem();
        MemoryRegion c1 = C(s, "c1", 0x10000), c2 = C(s, "c2", 0x10000), x = M(s, "x", 0x100);
        c1.AddSubregion(0x10, x, 2);
        var ex = Assert.Throws<MemoryTopologyException>(() => c2.AddSubregion(0x20, x, 5));
        Assert.Contains("already a subregion of 'c1'", ex.Message);
        Assert.Same(c1, x.Container);
        Assert.Equal(0x10ul, x.Address);
        Assert.Equal(2, x.Priority);
        Assert.Empty(c2.Subregions);
    }

    [Fact]
    public void ARegionCannotContainItself()
    {
        var s = new MemorySystem();
        MemoryRegion a = C(s, "a", 0x10000), b = C(s, "b", 0x10000);
        Assert.Contains("to itself", Assert.Throws<MemoryTopologyException>(() => a.AddSubregion(0, a)).Message);
        a.AddSubregion(0, b);
        var ex = Assert.Throws<MemoryTopologyException>(() => b.AddSubregion(0, a));
        Assert.Contains("would contain itself", ex.Message);
        Assert.Null(a.Container);
        Assert.Empty(b.Subregions);
    }

    [Fact]
    public void AnAliasCycleThatNeverShrinksIsRejected()
    {
        // 'a' holds 'b', which holds an alias of 'a' at offset 0 placed at 0: rendering 'a' would
        // render 'a' again through the same window forever.
        var (s, root, space) = Machine();
        MemoryRegion a = C(s, "a", 0x10000), b = C(s, "b", 0x10000);
        a.AddSubregion(0, b);
        root.AddSubregion(0, a);
        var view = space.CurrentMap;
        long commits = s.CommitCount;
        MemoryRegion alias = A(s, "alias-of-a", a, 0, 0x1000);
        var ex = Assert.Throws<MemoryTopologyException>(() => b.AddSubregion(0, alias));
        Assert.Contains("never shrinks", ex.Message);
        Assert.Null(alias.Container);
        Assert.Empty(b.Subregions);
        Assert.Equal(0, a.MappedViaAlias);
        Assert.Same(view, space.CurrentMap);
        Assert.Equal(commits, s.CommitCount);
    }

    [Fact]
    public void AnAliasCycleThatShrinksToNothingIsAllowed()
    {
        // Arm's SSE maps aliases of its own container inside it: each round moves the window until
        // it falls outside, so rendering ends.
        var (s, root, space) = Machine();
        MemoryRegion c = C(s, "container", 0x8000);
        c.AddSubregion(0x1000, R(s, "ram", 0x1000));
        c.AddSubregion(0x4000, A(s, "mirror", c, 0, 0x4000), -1);
        root.AddSubregion(0, c);
        Assert.Equal(["[0x1000,0x2000) ram", "[0x5000,0x6000) ram"], Flat(space));
        Assert.Equal(
            string.Join("\n", Rendering.NaiveRenderer.Render(root).Select(r => r.ToString())),
            string.Join("\n", space.CurrentMap.Ranges.Select(r => new Rendering.NaiveRenderer.Range(r.Start, r.Size, r.Region, r.OffsetInRegion, r.ReadOnly, r.NonVolatile, r.Unmergeable).ToString())));
    }

    [Fact]
    public void ChangesThatMakeACycleEndlessAreUndone()
    {
        var (s, root, space) = Machine();
        MemoryRegion c = C(s, "container", 0x8000);
        c.AddSubregion(0x1000, R(s, "ram", 0x1000));
        MemoryRegion mirror = A(s, "mirror", c, 0, 0x4000);
        c.AddSubregion(0x4000, mirror, -1);
        root.AddSubregion(0, c);
        var view = space.CurrentMap;
        // Moving the mirror to 0, or pointing it at its own place, makes every round identical.
        Assert.Throws<MemoryTopologyException>(() => mirror.SetAddress(0));
        Assert.Equal(0x4000ul, mirror.Address);
        Assert.Throws<MemoryTopologyException>(() => mirror.SetAliasOffset(0x4000));
        Assert.Equal(0ul, mirror.AliasOffset);
        Assert.Same(view, space.CurrentMap);

        MemoryRegion self = A(s, "self", c, 0x2000, 0x2000);
        self.SetEnabled(false);
        c.AddSubregion(0x2000, self, -2);
        Assert.Throws<MemoryTopologyException>(() => self.SetEnabled(true));
        Assert.False(self.Enabled);
    }

    [Fact]
    public void MisuseLeavesTheGraphAndTheViewUnchanged()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x1000);
        root.AddSubregion(0, ram);
        var view = space.CurrentMap;
        long commits = s.CommitCount;
        MemoryRegion other = C(new MemorySystem(), "foreign", 0x1000);
        Assert.Throws<MemoryTopologyException>(() => root.AddSubregion(0, other));
        Assert.Throws<MemoryTopologyException>(() => root.RemoveSubregion(M(s, "never-added", 0x10)));
        Assert.Throws<MemoryTopologyException>(() => ram.SetAliasOffset(4));
        Assert.Throws<MemoryTopologyException>(() => ram.SetRomd(false));
        Assert.Throws<ArgumentOutOfRangeException>(() => ram.AddEventfd(0, 3, false, 0, new EventNotifier()));
        Assert.Throws<MemoryTopologyException>(() => MemoryRegion.CreateAlias(s, "x", other, 0, 0x10));
        Assert.Throws<MemoryTopologyException>(() => root.AddSubregion(0, root));
        Assert.Same(view, space.CurrentMap);
        Assert.Equal(commits, s.CommitCount);
        Assert.Equal(0, s.TransactionDepth);
    }

    [Fact]
    public void CommitWithoutBeginIsRejected()
    {
        var s = new MemorySystem();
        Assert.Throws<InvalidOperationException>(() => s.CommitTransaction());
    }

    [Fact]
    public void SetEnabledOnAnUnmappedRegionStillCommits()
    {
        // QEMU marks an update pending for any enable change, visible or not.
        var s = new MemorySystem();
        MemoryRegion r = R(s, "r", 0x1000);
        long before = s.CommitCount;
        r.SetEnabled(false);
        Assert.Equal(before + 1, s.CommitCount);
        // Readonly changes on a disabled region do not.
        r.SetReadOnly(true);
        Assert.Equal(before + 1, s.CommitCount);
    }

    [Fact]
    public void EventfdDataIsStoredInDeviceOrder()
    {
        var s = new MemorySystem();
        var beOps = new MemoryRegionOps { Read = (_, _) => 0, Write = (_, _, _) => { }, Endianness = DeviceEndianness.Big };
        MemoryRegion be = MemoryRegion.CreateIo(s, "be", 0x100, beOps);
        be.AddEventfd(0, 4, true, 0x11223344, new EventNotifier());
        Assert.Equal(0x44332211ul, be.Ioeventfds[0].Data);
        MemoryRegion le = M(s, "le", 0x100);
        le.AddEventfd(0, 4, true, 0x11223344, new EventNotifier());
        Assert.Equal(0x11223344ul, le.Ioeventfds[0].Data);
    }

    [Fact]
    public void IoeventfdsKeepQemusSortOrder()
    {
        var s = new MemorySystem();
        MemoryRegion io = M(s, "io", 0x100);
        var e1 = new EventNotifier();
        var e2 = new EventNotifier();
        io.AddEventfd(0x10, 4, true, 2, e1);
        io.AddEventfd(0x10, 4, true, 1, e1);
        io.AddEventfd(0x10, 2, false, 0, e2);
        io.AddEventfd(0x08, 4, false, 0, e2);
        io.AddEventfd(0x10, 4, false, 0, e2);
        Assert.Equal(
            ["8/4/False/0", "10/2/False/0", "10/4/False/0", "10/4/True/1", "10/4/True/2"],
            io.Ioeventfds.Select(f => $"{f.Address:x}/{f.Size}/{f.MatchData}/{f.Data}"));
    }

    [Fact]
    public void FindAndPresent()
    {
        var (s, root, _) = Machine();
        MemoryRegion c = C(s, "c", 0x10000);
        root.AddSubregion(0x100000, c);
        MemoryRegion dev = M(s, "dev", 0x100);
        c.AddSubregion(0x200, dev);
        Assert.True(c.IsPresent(0x280));
        Assert.False(c.IsPresent(0x300));
        var sec = c.Find(0x1f0, 0x20);
        Assert.Same(dev, sec.Region);
        Assert.Equal(0x100200ul, sec.OffsetWithinAddressSpace);
        Assert.Equal((UInt128)0x10, sec.Size);
        Assert.Equal(0ul, sec.OffsetWithinRegion);
        // A region that is not under any address space root finds nothing.
        Assert.Null(C(s, "loose", 0x100).Find(0, 1).Region);
    }
}
