using CsCheck;
using Memspace.Regions;
using Memspace.Rendering;
using Memspace.Tests.Support;

namespace Memspace.Tests.Rendering;

/// <summary>
/// Random graphs (every kind, priorities, overlaps, aliases of aliases and of containers, disabled
/// regions, sizes 0 and 2^64, addresses at 0 and at the top) rendered by the library and by
/// <see cref="NaiveRenderer"/>; the views must be identical.
/// </summary>
public class RenderPropertyTests
{
    /// <summary>One step of building a graph.</summary>
    public sealed record Step(
        int Kind, int Parent, int Target, ulong Address, UInt128 Size, int Priority, bool UsePriority,
        bool Disabled, bool ReadOnly, bool NonVolatile, bool Unmergeable, bool RomdOff, ulong AliasOffset)
    {
        public override string ToString()
            => $"kind={Kind} parent={Parent} target={Target} addr=0x{Address:x} size=0x{Size:x} prio={(UsePriority ? Priority : 0)}"
               + $"{(Disabled ? " disabled" : "")}{(ReadOnly ? " ro" : "")}{(NonVolatile ? " nv" : "")}{(Unmergeable ? " um" : "")}{(RomdOff ? " romd-off" : "")} aoff=0x{AliasOffset:x}";
    }

    private static readonly ulong[] s_edgeAddresses =
        [0, 0x100, 0x800, 0x1000, 0x1800, 0x2000, 0x4000, ulong.MaxValue - 0xfff, ulong.MaxValue - 0x7ff, ulong.MaxValue];

    internal static readonly Gen<ulong> s_address = Gen.Frequency(
        (4, Gen.Int[0, 64].Select(i => (ulong)i * 0x100)),
        (2, Gen.Int[0, s_edgeAddresses.Length - 1].Select(i => s_edgeAddresses[i])),
        (1, Gen.ULong));

    internal static readonly Gen<UInt128> s_size = Gen.Frequency(
        (5, Gen.Int[1, 48].Select(i => (UInt128)(ulong)i * 0x100)),
        (1, Gen.Const((UInt128)0)),
        (1, Gen.Const(MemoryRegion.Size2To64)),
        (1, Gen.Int[1, 16].Select(i => MemoryRegion.Size2To64 - (ulong)i * 0x100)),
        (1, Gen.ULong.Select(u => (UInt128)u)));

    private static readonly Gen<ulong> s_aliasOffset = Gen.Frequency(
        (6, Gen.Int[0, 32].Select(i => (ulong)i * 0x100)),
        (1, Gen.Const(ulong.MaxValue - 0xfff)),
        (1, Gen.ULong));

    private static readonly Gen<Step> s_step =
        Gen.Select(Gen.Int[0, 7], Gen.Int[0, 1000], Gen.Int[0, 1000], s_address, s_size, Gen.Int[-2, 2], Gen.Bool,
                (kind, parent, target, addr, size, prio, usePrio) => (kind, parent, target, addr, size, prio, usePrio))
            .Select(Gen.Int[0, 15], Gen.Int[0, 7], s_aliasOffset,
                (a, flags, more, aoff) => new Step(a.kind, a.parent, a.target, a.addr, a.size, a.prio, a.usePrio,
                    Disabled: flags % 7 == 0, ReadOnly: (flags & 1) != 0 && flags > 9, NonVolatile: flags == 14,
                    Unmergeable: more == 3, RomdOff: more == 5, AliasOffset: aoff));

    internal static readonly Gen<Step[]> s_graph = s_step.Array[1, 14];

    internal static (MemorySystem System, MemoryRegion Root, AddressSpace Space, List<MemoryRegion> Regions) BuildGraph(Step[] steps, bool incremental = true)
    {
        // No host memory: only the graph matters here. RAM-backed kinds get sizes a RAMBlock can have
        // (QEMU cannot allocate an empty or 2^64-byte block either); the others keep every edge.
        var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false, IncrementalRendering = incremental });
        MemoryRegion root = MemoryRegion.CreateContainer(s, "root", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "as");
        var regions = new List<MemoryRegion> { root };
        using (s.Transaction())
        {
            for (int i = 0; i < steps.Length; i++)
            {
                Step st = steps[i];
                string name = $"r{i + 1}";
                UInt128 ramSize = st.Size == 0 ? 0x1000 : UInt128.Min(st.Size, 1UL << 24);
                MemoryRegion mr = st.Kind switch
                {
                    0 => MemoryRegion.CreateContainer(s, name, st.Size),
                    1 => MemoryRegion.CreateIo(s, name, st.Size, Build.DummyOps),
                    2 => MemoryRegion.CreateRam(s, name, ramSize),
                    3 => MemoryRegion.CreateRom(s, name, ramSize),
                    4 => MemoryRegion.CreateRomDevice(s, name, ramSize, Build.DummyOps),
                    5 => MemoryRegion.CreateRamDevice(s, name, ramSize),
                    6 => MemoryRegion.CreateReservation(s, name, st.Size),
                    _ => MemoryRegion.CreateAlias(s, name, regions[st.Target % regions.Count], st.AliasOffset, st.Size),
                };
                regions.Add(mr);
                MemoryRegion parent = regions[st.Parent % (regions.Count - 1)];
                try
                {
                    parent.AddSubregion(st.Address, mr, st.UsePriority ? st.Priority : 0);
                }
                catch (MemoryTopologyException)
                {
                    // A cycle, or a subregion of an alias: left unmapped (the graph is unchanged).
                }
                if (st.Disabled) mr.SetEnabled(false);
                if (st.ReadOnly) mr.SetReadOnly(true);
                if (st.NonVolatile) mr.SetNonVolatile(true);
                if (st.Unmergeable) mr.SetUnmergeable(true);
                if (st.RomdOff && mr.IsRomDevice) mr.SetRomd(false);
            }
        }
        return (s, root, space, regions);
    }

    private static void AssertSameAsNaive(AddressSpace space, MemoryRegion root)
    {
        List<NaiveRenderer.Range> expected = NaiveRenderer.Render(space.System.GetFlatViewRoot(root));
        var actual = space.CurrentMap.Ranges
            .Select(r => new NaiveRenderer.Range(r.Start, r.Size, r.Region, r.OffsetInRegion, r.ReadOnly, r.NonVolatile, r.Unmergeable))
            .ToList();
        Assert.Equal(string.Join("\n", expected), string.Join("\n", actual));
        // The flags that come from the region itself.
        foreach (FlatRange r in space.CurrentMap.Ranges)
        {
            Assert.Equal(r.Region.RomdMode, r.RomdMode);
            Assert.Equal(r.Region.DirtyLogMask, r.DirtyLogMask);
        }
    }

    [Fact]
    public void RandomGraphsRenderLikeTheNaiveRenderer()
    {
        int interesting = 0;
        s_graph.Sample(steps =>
        {
            var (_, root, space, _) = BuildGraph(steps);
            AssertSameAsNaive(space, root);
            if (space.CurrentMap.Count >= 3)
            {
                Interlocked.Increment(ref interesting);
            }
        }, iter: 3000, print: steps => string.Join("\n", steps.Select((st, i) => $"r{i + 1}: {st}")));
        // The generator must produce views with several ranges often enough to mean something.
        Assert.True(interesting > 300, $"only {interesting} of 3000 graphs rendered 3 or more ranges");
    }

    [Fact]
    public void RandomMutationsKeepTheViewEqualToTheNaiveRenderer()
    {
        var mutation = Gen.Select(Gen.Int[0, 5], Gen.Int[0, 1000], s_address, s_size);
        Gen.Select(s_graph, mutation.Array[1, 8]).Sample((steps, mutations) =>
        {
            var (_, root, space, regions) = BuildGraph(steps);
            foreach (var (op, which, addr, size) in mutations)
            {
                MemoryRegion mr = regions[1 + (which % (regions.Count - 1))];
                var before = space.CurrentMap;
                try
                {
                    switch (op)
                    {
                        case 0: mr.SetAddress(addr); break;
                        case 1: mr.SetEnabled(!mr.Enabled); break;
                        case 2: if (mr.RamBlock is null) mr.SetSize(size); break;
                        case 3: if (mr.IsAlias) mr.SetAliasOffset(addr); break;
                        case 4: mr.SetReadOnly(!mr.ReadOnly); break;
                        case 5:
                            if (mr.Container is { } c)
                            {
                                c.RemoveSubregion(mr);
                            }
                            break;
                    }
                }
                catch (MemoryTopologyException)
                {
                    // Refused (the change would make an alias cycle endless): nothing changed.
                    Assert.Same(before, space.CurrentMap);
                }
                AssertSameAsNaive(space, root);
            }
        }, iter: 1000);
    }
}
