using CsCheck;
using Memspace.Listeners;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Rendering;
using Memspace.Tests.Support;

namespace Memspace.Tests.Rendering;

/// <summary>
/// Incremental rendering against the full renderer it replaces: the same graphs and the same random
/// changes applied to two memory systems, one rendering by parts and one rendering everything at every
/// commit; after every commit the views, the listener callbacks (with and without <c>region_nop</c>) and
/// the dispatch entries must be the same.
/// </summary>
public class IncrementalRenderingTests
{
    /// <summary>A listener without <c>region_nop</c>: it gets the bounded diff.</summary>
    private sealed class Changes(List<string> log) : MemoryListener("changes")
    {
        private static string S(in MemoryRegionSection s)
            => $"{s.Region?.Name ?? "-"} [0x{s.OffsetWithinAddressSpace:x},0x{s.End:x})@0x{s.OffsetWithinRegion:x}{(s.ReadOnly ? " ro" : "")}{(s.Unmergeable ? " um" : "")}";

        public override void Begin() => log.Add("begin");
        public override void Commit() => log.Add("commit");
        public override void RegionAdd(in MemoryRegionSection section) => log.Add($"add {S(section)}");
        public override void RegionDel(in MemoryRegionSection section) => log.Add($"del {S(section)}");
        public override void LogStart(in MemoryRegionSection section, byte oldMask, byte newMask) => log.Add($"log_start {S(section)} {oldMask}->{newMask}");
        public override void LogStop(in MemoryRegionSection section, byte oldMask, byte newMask) => log.Add($"log_stop {S(section)} {oldMask}->{newMask}");
        public override void CoalescedIoAdd(in MemoryRegionSection section, ulong address, ulong size) => log.Add($"coalesced_add 0x{address:x}+0x{size:x}");
        public override void CoalescedIoDel(in MemoryRegionSection section, ulong address, ulong size) => log.Add($"coalesced_del 0x{address:x}+0x{size:x}");
    }

    internal sealed class Side
    {
        public Side(RenderPropertyTests.Step[] steps, bool incremental)
        {
            (System, Root, Space, Regions) = RenderPropertyTests.BuildGraph(steps, incremental);
            // A second address space rooted inside the graph, when there is a container to root it at.
            if (Regions.Skip(1).FirstOrDefault(r => !r.IsAlias && r.SubregionCount > 0) is { } inner)
            {
                Inner = System.CreateAddressSpace(inner, "inner");
                Inner.RegisterListener(new Changes(InnerLog));
            }
            Space.RegisterListener(new Changes(ChangeLog));
            Space.RegisterListener(new RecordingListener("all", NopLog));
        }

        public MemorySystem System { get; }

        public MemoryRegion Root { get; }

        public AddressSpace Space { get; }

        public AddressSpace? Inner { get; }

        public List<MemoryRegion> Regions { get; }

        public List<string> ChangeLog { get; } = [];

        public List<string> NopLog { get; } = [];

        public List<string> InnerLog { get; } = [];
    }

    internal static string Describe(FlatRange r)
        => $"[0x{r.Start:x},0x{r.End:x}) {r.Region.Name}@0x{r.OffsetInRegion:x} ro={r.ReadOnly} nv={r.NonVolatile} um={r.Unmergeable} romd={r.RomdMode} mask={r.DirtyLogMask}";

    private static string Entry(AddressSpace space, ulong address)
    {
        ref readonly var e = ref space.Dispatch.EntryFor(address);
        return e.Region is null ? "-" : $"{e.Region.Name} {e.Start:x}+{e.LastOffset:x} r={e.DirectRead} w={e.RamWritable} ro={e.ReadOnly} rl={e.RomLoadable}";
    }

    private static void AssertSame(Side inc, Side full)
    {
        Assert.Equal(string.Join("\n", full.Space.CurrentMap.Ranges.Select(Describe)), string.Join("\n", inc.Space.CurrentMap.Ranges.Select(Describe)));
        if (full.Inner is not null)
        {
            Assert.Equal(string.Join("\n", full.Inner.CurrentMap.Ranges.Select(Describe)), string.Join("\n", inc.Inner!.CurrentMap.Ranges.Select(Describe)));
        }
        Assert.Equal(full.ChangeLog, inc.ChangeLog);
        Assert.Equal(full.NopLog, inc.NopLog);
        Assert.Equal(full.InnerLog, inc.InnerLog);
        foreach (FlatRange r in full.Space.CurrentMap.Ranges)
        {
            foreach (ulong a in new[] { r.Start, r.Last, r.Start - 1, r.Last + 1 })
            {
                Assert.Equal(Entry(full.Space, a), Entry(inc.Space, a));
            }
        }
    }

    private static readonly Gen<(int Op, int Which, ulong Address, UInt128 Size, int Group)> s_change =
        Gen.Select(Gen.Int[0, 11], Gen.Int[0, 1000], RenderPropertyTests.s_address, RenderPropertyTests.s_size, Gen.Int[0, 3]);

    /// <summary>Applies one change; null when it went through, else the exception's type name.</summary>
    internal static string? Apply(Side side, (int Op, int Which, ulong Address, UInt128 Size, int Group) c)
    {
        List<MemoryRegion> regions = side.Regions;
        MemoryRegion mr = regions[1 + (c.Which % (regions.Count - 1))];
        MemoryRegion parent = regions[c.Which % regions.Count];
        try
        {
            switch (c.Op)
            {
                case 0: mr.SetAddress(c.Address); break;
                case 1: mr.SetEnabled(!mr.Enabled); break;
                case 2: if (mr.RamBlock is null) mr.SetSize(c.Size); break;
                case 3: if (mr.IsAlias) mr.SetAliasOffset(c.Address); break;
                case 4: mr.SetReadOnly(!mr.ReadOnly); break;
                case 5: mr.Container?.RemoveSubregion(mr); break;
                case 6: if (mr.Container is null) parent.AddSubregion(c.Address, mr, c.Group - 1); break;
                case 7: mr.SetUnmergeable(!mr.Unmergeable); break;
                case 8: if (mr.IsRomDevice) mr.SetRomd(!mr.RomdMode); break;
                case 9: if (mr.IsRam) mr.SetLog(!mr.IsLogging(DirtyMemoryClient.Vga), DirtyMemoryClient.Vga); break;
                case 10: mr.SetNonVolatile(!mr.NonVolatile); break;
                default:
                    if (mr.Container is { } container)
                    {
                        // Move it to the end of its priority group without changing anything else.
                        container.RemoveSubregion(mr);
                        container.AddSubregion(mr.Address, mr, mr.Priority);
                    }
                    break;
            }
            return null;
        }
        catch (Exception e) when (e is MemoryTopologyException or RamBlockException)
        {
            return e.GetType().Name;
        }
    }

    [Fact]
    public void RandomChangesRenderNotifyAndDispatchExactlyLikeFullRendering()
    {
        int incrementalRuns = 0;
        Gen.Select(RenderPropertyTests.s_graph, s_change.Array[1, 12]).Sample((steps, changes) =>
        {
            var inc = new Side(steps, incremental: true);
            var full = new Side(steps, incremental: false);
            AssertSame(inc, full);
            int i = 0;
            while (i < changes.Length)
            {
                // Group one to three changes into one transaction now and then.
                int n = Math.Min(changes.Length - i, 1 + (changes[i].Group % 3));
                using (inc.System.Transaction())
                using (full.System.Transaction())
                {
                    for (int k = 0; k < n; k++)
                    {
                        Assert.Equal(Apply(full, changes[i + k]), Apply(inc, changes[i + k]));
                    }
                }
                i += n;
                AssertSame(inc, full);
            }
            if (!inc.System.AliasCycleSeen)
            {
                Interlocked.Increment(ref incrementalRuns);
            }
        }, iter: 1500, print: t => string.Join("\n", t.Item1.Select((st, i) => $"r{i + 1}: {st}")) + "\nchanges: " + string.Join(", ", t.Item2));
        // Graphs with an alias cycle render fully; the others (more than half) really ran incrementally.
        Assert.True(incrementalRuns > 600, $"only {incrementalRuns} of 1500 runs rendered incrementally");
    }

    [Fact]
    public void ListenersWithoutRegionNopHearOnlyAboutWhatChanged()
    {
        var (s, root, space) = Build.Machine();
        var regions = new List<MemoryRegion>();
        using (s.Transaction())
        {
            for (int i = 0; i < 1000; i++)
            {
                MemoryRegion mr = Build.M(s, $"dev{i}", 0x1000);
                root.AddSubregion((ulong)i * 0x2000, mr);
                regions.Add(mr);
            }
        }
        var changes = new List<string>();
        space.RegisterListener(new Changes(changes));
        var everything = new RecordingListener("all");
        space.RegisterListener(everything);
        changes.Clear();
        everything.Log.Clear();

        regions[500].SetAddress(0x1000_0000);

        Assert.Equal(
        [
            "begin",
            "del dev500 [0x3e8000,0x3e9000)@0x0",
            "add dev500 [0x10000000,0x10001000)@0x0",
            "commit",
        ], changes);
        // A listener that takes region_nop still hears about every unchanged range, as in QEMU.
        Assert.Equal(999, everything.Log.Count(l => l.StartsWith("all:nop ", StringComparison.Ordinal)));
        Assert.Equal(space.CurrentMap.Count, everything.Log.Count(l => l.StartsWith("all:nop ", StringComparison.Ordinal) || l.StartsWith("all:add ", StringComparison.Ordinal)));
    }

    [Fact]
    public void ACommitThatChangesNothingVisibleKeepsTheViewObject()
    {
        var (s, root, space) = Build.Machine();
        MemoryRegion hidden = Build.C(s, "hidden", 0x10000);
        root.AddSubregion(0, Build.R(s, "ram", 0x100000));
        root.AddSubregion(0x200000, hidden);
        hidden.SetEnabled(false);
        FlatView before = space.CurrentMap;
        hidden.AddSubregion(0, Build.M(s, "dev", 0x1000));        // inside a disabled container
        Assert.Same(before, space.CurrentMap);
        hidden.SetEnabled(true);
        Assert.NotSame(before, space.CurrentMap);
        Assert.Equal(["[0x0,0x100000) ram", "[0x200000,0x201000) dev"], Build.Flat(space));
    }

    [Fact]
    public void ViewsShareEveryRangeTreeNodeTheCommitDidNotTouch()
    {
        var (s, root, space) = Build.Machine();
        var regions = new List<MemoryRegion>();
        using (s.Transaction())
        {
            for (int i = 0; i < 10_000; i++)
            {
                MemoryRegion mr = Build.M(s, $"dev{i}", 0x1000);
                root.AddSubregion((ulong)i * 0x2000, mr);
                regions.Add(mr);
            }
        }
        FlatView before = space.CurrentMap;
        regions[5000].SetEnabled(false);
        FlatView after = space.CurrentMap;
        Assert.Equal(before.Count - 1, after.Count);
        // The leaf that held dev0 is the same object in both views: nothing was copied there.
        Assert.Same(before.Tree.LeafFor(0, out _), after.Tree.LeafFor(0, out _));
        Assert.NotSame(before.Tree.LeafFor(5000 * 0x2000, out _), after.Tree.LeafFor(5000 * 0x2000, out _));
    }
}
