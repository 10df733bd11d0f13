using Memspace.Regions;
using static Memspace.Tests.Support.Build;

namespace Memspace.Tests.Rendering;

/// <summary>Rendering cases 1-26 of the semantics digest (section 10).</summary>
public class RenderingTests
{
    [Fact]
    public void Case01_EmptyRootSharesTheEmptyView()
    {
        var (s, _, space) = Machine();
        Assert.Empty(space.CurrentMap.Ranges);
        Assert.Same(s.EmptyFlatView, space.CurrentMap);
        Assert.Null(space.CurrentMap.Root);
    }

    [Fact]
    public void Case02_OneRamRegion()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0x2000, R(s, "ram", 0x1000));
        Assert.Equal(["[0x2000,0x3000) ram"], Flat(space));
        Assert.Equal(0ul, space.CurrentMap.Ranges[0].OffsetInRegion);
    }

    [Fact]
    public void Case03_RangesAreSortedByAddress()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0x5000, R(s, "high", 0x1000));
        root.AddSubregion(0x1000, R(s, "low", 0x1000));
        Assert.Equal(["[0x1000,0x2000) low", "[0x5000,0x6000) high"], Flat(space));
    }

    [Fact]
    public void Case04_HigherPriorityWinsTheOverlap()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0, M(s, "a", 0x2000), 0);
        root.AddSubregion(0x800, M(s, "b", 0x1000), 1);
        Assert.Equal(["[0x0,0x800) a", "[0x800,0x1800) b", "[0x1800,0x2000) a@0x1800"], Flat(space));
    }

    [Fact]
    public void Case05_EqualPriorityMostRecentlyAddedWins()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0, M(s, "a", 0x2000));
        root.AddSubregion(0x800, M(s, "b", 0x1000));
        Assert.Equal(["[0x0,0x800) a", "[0x800,0x1800) b", "[0x1800,0x2000) a@0x1800"], Flat(space));

        var (s2, root2, space2) = Machine();
        root2.AddSubregion(0x800, M(s2, "b", 0x1000));
        root2.AddSubregion(0, M(s2, "a", 0x2000));
        Assert.Equal(["[0x0,0x2000) a"], Flat(space2));
    }

    [Fact]
    public void Case06_PlainAddResetsPriorityToZero()
    {
        var (s, root, space) = Machine();
        MemoryRegion bg = M(s, "bg", 0x2000);
        root.AddSubregion(0, bg, 1);
        MemoryRegion x = M(s, "x", 0x2000);
        root.AddSubregion(0, x, 5);
        Assert.Equal(5, x.Priority);
        root.RemoveSubregion(x);
        root.AddSubregion(0, x);
        Assert.Equal(0, x.Priority);
        Assert.Equal(["[0x0,0x2000) bg"], Flat(space));
    }

    private static (MemorySystem, MemoryRegion, AddressSpace, MemoryRegion B) DocExample(bool bHasOps)
    {
        var s = new MemorySystem();
        MemoryRegion a = C(s, "A", 0x8000);
        AddressSpace space = s.CreateAddressSpace(a, "as");
        MemoryRegion b = bHasOps ? M(s, "B", 0x4000) : C(s, "B", 0x4000);
        b.AddSubregion(0, M(s, "D", 0x1000));
        b.AddSubregion(0x2000, M(s, "E", 0x1000));
        a.AddSubregion(0x2000, b, 2);
        a.AddSubregion(0, M(s, "C", 0x6000), 1);
        return (s, a, space, b);
    }

    [Fact]
    public void Case07_PureContainerLetsLowerSiblingsShowThrough()
    {
        var (_, _, space, _) = DocExample(bHasOps: false);
        Assert.Equal(
            ["[0x0,0x2000) C", "[0x2000,0x3000) D", "[0x3000,0x4000) C@0x3000", "[0x4000,0x5000) E", "[0x5000,0x6000) C@0x5000"],
            Flat(space));
    }

    [Fact]
    public void Case08_RegionWithOpsFillsItsOwnGaps()
    {
        var (_, _, space, _) = DocExample(bHasOps: true);
        Assert.Equal(
            ["[0x0,0x2000) C", "[0x2000,0x3000) D", "[0x3000,0x4000) B@0x1000", "[0x4000,0x5000) E", "[0x5000,0x6000) B@0x3000"],
            Flat(space));
    }

    [Fact]
    public void Case09_NegativePriorityBackground()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0, M(s, "bg", 0x10000), -1);
        root.AddSubregion(0x4000, R(s, "x", 0x1000));
        Assert.Equal(["[0x0,0x4000) bg", "[0x4000,0x5000) x", "[0x5000,0x10000) bg@0x5000"], Flat(space));
    }

    [Fact]
    public void Case10_AliasWithOffset()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x10000);
        root.AddSubregion(0x100000, A(s, "lo", ram, 0x4000, 0x2000));
        Assert.Equal(["[0x100000,0x102000) ram@0x4000"], Flat(space));
    }

    [Fact]
    public void Case11_AliasOfAlias()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x10000);
        MemoryRegion a1 = A(s, "a1", ram, 0x1000, 0x8000);
        root.AddSubregion(0, a1);
        root.AddSubregion(0x10000, A(s, "a2", a1, 0x2000, 0x1000));
        Assert.Equal(["[0x0,0x8000) ram@0x1000", "[0x10000,0x11000) ram@0x3000"], Flat(space));
    }

    [Fact]
    public void Case12_AliasWindowLargerThanTargetLeavesAHole()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x1000);
        root.AddSubregion(0, M(s, "bg", 0x2000), -1);
        root.AddSubregion(0, A(s, "win", ram, 0x800, 0x1000));
        Assert.Equal(["[0x0,0x800) ram@0x800", "[0x800,0x2000) bg@0x800"], Flat(space));
    }

    [Fact]
    public void Case13_AliasOfContainerWithAHole()
    {
        var (s, root, space) = Machine();
        MemoryRegion t = C(s, "t", 0x3000);
        t.AddSubregion(0x1000, R(s, "r", 0x1000));
        root.AddSubregion(0, M(s, "bg", 0x10000));
        root.AddSubregion(0x5000, A(s, "a", t, 0, 0x3000), 1);
        Assert.Equal(["[0x0,0x6000) bg", "[0x6000,0x7000) r", "[0x7000,0x10000) bg@0x7000"], Flat(space));
    }

    [Fact]
    public void Case14_AliasTargetAlsoMappedDirectly()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x2000);
        root.AddSubregion(0x9000, ram);
        root.AddSubregion(0x1000, A(s, "a", ram, 0x1000, 0x1000));
        Assert.Equal(["[0x1000,0x2000) ram@0x1000", "[0x9000,0xb000) ram"], Flat(space));
    }

    [Fact]
    public void Case15_DisabledAliasTargetRendersNothing()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x2000);
        root.AddSubregion(0x1000, A(s, "a", ram, 0, 0x2000));
        Assert.Single(space.CurrentMap.Ranges);
        ram.SetEnabled(false);
        Assert.Empty(space.CurrentMap.Ranges);
    }

    [Fact]
    public void Case16_DisablingAnOverlapMergesTheRange()
    {
        var (s, root, space) = Machine();
        MemoryRegion l = R(s, "L", 0x3000);
        MemoryRegion u = M(s, "U", 0x1000);
        root.AddSubregion(0, l);
        root.AddSubregion(0x1000, u, 1);
        Assert.Equal(["[0x0,0x1000) L", "[0x1000,0x2000) U", "[0x2000,0x3000) L@0x2000"], Flat(space));
        u.SetEnabled(false);
        Assert.Equal(["[0x0,0x3000) L"], Flat(space));
    }

    [Fact]
    public void Case17_ReadOnlyAliasOfRamIsRom()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x1000);
        MemoryRegion a = A(s, "a", ram, 0, 0x1000);
        a.SetReadOnly(true);
        root.AddSubregion(0, a);
        Assert.Equal(["[0x0,0x1000) ram ro"], Flat(space));
        Assert.False(ram.ReadOnly);
    }

    [Fact]
    public void Case17_Qemu72LosesTheFlagWhenTheAliasIsTheWholeView()
    {
        // The flat-view root search looks through the root container and the full alias, so QEMU
        // 7.2 renders from "ram" itself and the alias's read-only flag is lost.
        var s = new MemorySystem(new MemorySystemOptions { FlatViewRootIgnoresFlags = true });
        MemoryRegion root = C(s, "system", Max);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        MemoryRegion ram = R(s, "ram", 0x1000);
        MemoryRegion a = A(s, "a", ram, 0, 0x1000);
        a.SetReadOnly(true);
        root.AddSubregion(0, a);
        Assert.Same(ram, space.FlatViewRoot);
        Assert.Equal(["[0x0,0x1000) ram"], Flat(space));
    }

    [Fact]
    public void Case18_ReadOnlyContainerPropagatesAndBlocksMerging()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x2000);
        MemoryRegion c = C(s, "c", 0x1000);
        c.SetReadOnly(true);
        c.AddSubregion(0, A(s, "hi", ram, 0x1000, 0x1000));
        root.AddSubregion(0, A(s, "lo", ram, 0, 0x1000));
        root.AddSubregion(0x1000, c);
        Assert.Equal(["[0x0,0x1000) ram", "[0x1000,0x2000) ram@0x1000 ro"], Flat(space));
    }

    [Fact]
    public void Case19_AdjacentAliasesWithContiguousOffsetsMerge()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x2000);
        root.AddSubregion(0, A(s, "a0", ram, 0, 0x1000));
        root.AddSubregion(0x1000, A(s, "a1", ram, 0x1000, 0x1000));
        Assert.Equal(["[0x0,0x2000) ram"], Flat(space));
    }

    [Fact]
    public void Case20_SwappedAliasesDoNotMerge()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x2000);
        root.AddSubregion(0, A(s, "a0", ram, 0x1000, 0x1000));
        root.AddSubregion(0x1000, A(s, "a1", ram, 0, 0x1000));
        Assert.Equal(["[0x0,0x1000) ram@0x1000", "[0x1000,0x2000) ram"], Flat(space));
    }

    [Theory]
    [InlineData("readonly")]
    [InlineData("nonvolatile")]
    [InlineData("unmergeable")]
    public void Case21_NoMergeAcrossAttributeDifferences(string attribute)
    {
        var (s, root, space) = Machine();
        MemoryRegion target = R(s, "t", 0x2000);
        MemoryRegion a0 = A(s, "a0", target, 0, 0x1000);
        MemoryRegion a1 = A(s, "a1", target, 0x1000, 0x1000);
        root.AddSubregion(0, a0);
        root.AddSubregion(0x1000, a1);
        Assert.Single(space.CurrentMap.Ranges);
        switch (attribute)
        {
            case "readonly": a1.SetReadOnly(true); break;
            case "nonvolatile": a1.SetNonVolatile(true); break;
            case "unmergeable": a1.SetUnmergeable(true); break;
        }
        Assert.Equal(["[0x0,0x1000) t", "[0x1000,0x2000) t@0x1000" + (attribute == "readonly" ? " ro" : attribute == "nonvolatile" ? " nv" : "")],
            Flat(space));
    }

    [Fact]
    public void Case21_NoMergeAcrossDirtyMaskOrRomdDifference()
    {
        // The mask and romd mode come from the terminal region, so two ranges of one region never
        // differ in them inside one view; the merge rule itself is checked here.
        var s = new MemorySystem();
        MemoryRegion t = R(s, "t", 0x2000);
        var a = new Memspace.Rendering.FlatRange(t, 0, 0, 0x1000, 0, true, false, false, false);
        var b = a with { Start = 0x1000, OffsetInRegion = 0x1000 };
        Assert.True(a.CanMerge(b));
        Assert.False(a.CanMerge(b with { DirtyLogMask = 1 }));
        Assert.False(a.CanMerge(b with { RomdMode = false }));
        Assert.False(a.CanMerge(b with { ReadOnly = true }));
        Assert.False(a.CanMerge(b with { NonVolatile = true }));
        Assert.False(a.CanMerge(b with { Unmergeable = true }));
        Assert.False(a.CanMerge(b with { OffsetInRegion = 0x1800 }));
        Assert.False(a.CanMerge(b with { Start = 0x1001 }));
    }

    [Fact]
    public void UnmergeableRangesFromOneFillStayOneRange()
    {
        // An unmergeable region split by nothing is one range; split by an overlap it is three.
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x3000);
        ram.SetUnmergeable(true);
        root.AddSubregion(0, ram);
        Assert.Equal(["[0x0,0x3000) ram"], Flat(space));
        MemoryRegion hole = M(s, "hole", 0x1000);
        root.AddSubregion(0x1000, hole, 1);
        hole.SetEnabled(false);
        Assert.Equal(["[0x0,0x3000) ram"], Flat(space));
    }

    [Fact]
    public void Case22_ZeroSizeRegionRendersNothing()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0, R(s, "ram", 0x3000));
        root.AddSubregion(0x1000, M(s, "empty", 0), 10);
        Assert.Equal(["[0x0,0x3000) ram"], Flat(space));
    }

    [Fact]
    public void Case23_UInt64MaxMeansTwoToThe64()
    {
        var s = new MemorySystem();
        MemoryRegion io = M(s, "all", ulong.MaxValue);
        Assert.Equal(MemoryRegion.Size2To64, io.Size);
        Assert.Equal(ulong.MaxValue, io.Size64);
        AddressSpace space = s.CreateAddressSpace(io, "as");
        Assert.Equal(["[0x0,0x10000000000000000) all"], Flat(space));
        Assert.Equal(ulong.MaxValue, space.CurrentMap.Ranges[0].Last);
    }

    [Fact]
    public void Case24_ChildClippedByItsContainer()
    {
        var (s, root, space) = Machine();
        MemoryRegion c = C(s, "c", 0x2000);
        c.AddSubregion(0x1000, R(s, "r", 0x2000));
        root.AddSubregion(0, c);
        Assert.Equal(["[0x1000,0x2000) r"], Flat(space));
    }

    [Fact]
    public void Case25_SubregionsOfAnAliasAreRejected()
    {
        // QEMU documents this as forbidden and its renderer ignores them; Memspace refuses them.
        var (s, root, space) = Machine();
        MemoryRegion ram = R(s, "ram", 0x1000);
        MemoryRegion a = A(s, "a", ram, 0, 0x1000);
        root.AddSubregion(0, a);
        var ex = Assert.Throws<MemoryTopologyException>(() => a.AddSubregion(0, M(s, "x", 0x100)));
        Assert.Contains("alias", ex.Message);
        Assert.Empty(a.Subregions);
        Assert.Equal(["[0x0,0x1000) ram"], Flat(space));
    }

    [Fact]
    public void Case26_FlatViewSharing()
    {
        var (s, root, memory) = Machine();
        root.AddSubregion(0, R(s, "ram", 0x1000));
        AddressSpace cpu = s.CreateAddressSpace(root, "cpu-memory-0");
        Assert.Same(memory.CurrentMap, cpu.CurrentMap);

        // A full alias at offset 0 shares the target's view.
        MemoryRegion full = A(s, "full", root, 0, MemoryRegion.Size2To64);
        AddressSpace viaAlias = s.CreateAddressSpace(full, "via-alias");
        Assert.Same(memory.CurrentMap, viaAlias.CurrentMap);

        // A container whose only enabled child sits at 0 shares the child's view.
        MemoryRegion busMaster = C(s, "bus master container", MemoryRegion.Size2To64);
        MemoryRegion bm = A(s, "bus master", root, 0, MemoryRegion.Size2To64);
        bm.SetEnabled(false);
        busMaster.AddSubregion(0, bm);
        AddressSpace dev = s.CreateAddressSpace(busMaster, "dev");
        Assert.Same(s.EmptyFlatView, dev.CurrentMap);
        bm.SetEnabled(true);
        Assert.Same(memory.CurrentMap, dev.CurrentMap);
        Assert.Same(memory.CurrentMap, cpu.CurrentMap);

        // Changes keep them shared.
        root.AddSubregion(0x10000, R(s, "more", 0x1000));
        Assert.Same(memory.CurrentMap, dev.CurrentMap);
        Assert.Equal(2, dev.CurrentMap.Count);

        // A partial alias does not share.
        AddressSpace partial = s.CreateAddressSpace(A(s, "partial", root, 0x1000, 0x20000), "partial");
        Assert.NotSame(memory.CurrentMap, partial.CurrentMap);
    }

    [Fact]
    public void Case69_FindOnRegionReachableOnlyThroughAliasFindsNothing()
    {
        var (s, root, _) = Machine();
        MemoryRegion ram = R(s, "ram", 0x2000);
        root.AddSubregion(0x1000, A(s, "a", ram, 0, 0x2000));
        Assert.Null(ram.Find(0, 0x10).Region);
        var sec = root.Find(0x1800, 0x10);
        Assert.Same(ram, sec.Region);
        Assert.Equal(0x800ul, sec.OffsetWithinRegion);
        Assert.Equal((UInt128)0x10, sec.Size);
    }

    [Fact]
    public void Case70_AliasTargetOfMappedAliasIsMapped()
    {
        var (s, root, _) = Machine();
        MemoryRegion ram = R(s, "ram", 0x2000);
        Assert.False(ram.IsMapped);
        MemoryRegion a1 = A(s, "a1", ram, 0, 0x2000);
        MemoryRegion a2 = A(s, "a2", a1, 0, 0x2000);
        root.AddSubregion(0, a2);
        Assert.True(ram.IsMapped);
        Assert.True(a1.IsMapped);
        Assert.Equal(1, ram.MappedViaAlias);
        root.RemoveSubregion(a2);
        Assert.False(ram.IsMapped);
    }

    [Fact]
    public void AliasWithHugeOffsetMakesANegativeBase()
    {
        // The alias base goes below zero in 128-bit arithmetic, as in QEMU's Int128 render.
        var (s, root, space) = Machine();
        MemoryRegion big = M(s, "big", MemoryRegion.Size2To64);
        root.AddSubregion(0x1000, A(s, "wrap", big, 0xffff_ffff_ffff_f000, 0x1000));
        Assert.Equal(["[0x1000,0x2000) big@0xfffffffffffff000"], Flat(space));
    }

    [Fact]
    public void RegionAtTheTopOfTheAddressSpace()
    {
        var (s, root, space) = Machine();
        root.AddSubregion(0xffff_ffff_ffff_f000, R(s, "top", 0x1000));
        root.AddSubregion(0xffff_ffff_ffff_f800, R(s, "clipped", 0x1000), 1);
        Assert.Equal(["[0xfffffffffffff000,0xfffffffffffff800) top", "[0xfffffffffffff800,0x10000000000000000) clipped"], Flat(space));
    }
}
