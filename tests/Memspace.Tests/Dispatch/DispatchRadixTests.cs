using CsCheck;
using Memspace.Dispatch;
using Memspace.Regions;

namespace Memspace.Tests.Dispatch;

/// <summary>
/// The page index against the tree search it stands in for: on random topologies (sub-page
/// ranges, ranges across 2 MiB granules, holes, priorities, ranges above the indexed limit) every
/// address the index answers gets exactly the entry the search finds, and the addresses it does
/// not answer are the ones it cannot answer exactly.
/// </summary>
public class DispatchRadixTests
{
    private static (MemorySystem System, AddressSpace Space) Build(IEnumerable<(ulong Address, ulong Size, bool Ram, int Priority)> regions)
    {
        var system = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(system, "system", MemoryRegion.Size2To64);
        AddressSpace space = system.CreateAddressSpace(root, "memory");
        using (system.Transaction())
        {
            int i = 0;
            foreach (var (address, size, ram, priority) in regions)
            {
                MemoryRegion mr = ram
                    ? MemoryRegion.CreateRam(system, $"ram{i}", size)
                    : MemoryRegion.CreateIo(system, $"dev{i}", size, new MemoryRegionOps { Read = (_, _) => 0, Write = (_, _, _) => { } });
                root.AddSubregion(address, mr, priority);
                i++;
            }
        }
        return (system, space);
    }

    private static void AssertSame(DispatchTable table, DispatchRadix radix, ulong address)
    {
        ref readonly DispatchEntry searched = ref table.Search(address);
        ref readonly DispatchEntry indexed = ref radix.Find(address, out bool found);
        if (!found)
        {
            return;
        }
        Assert.True(address - searched.Start <= searched.LastOffset, $"the index answered 0x{address:x}, which no range covers");
        Assert.Equal((searched.Start, searched.LastOffset, searched.Region, searched.Host, searched.DirectRead, searched.DirectWritable),
                     (indexed.Start, indexed.LastOffset, indexed.Region, indexed.Host, indexed.DirectRead, indexed.DirectWritable));
    }

    [Fact]
    public void TheIndexAgreesWithTheSearchOnRandomTopologies()
    {
        var region = Gen.Select(
            Gen.OneOf(Gen.ULong[0, 0x800_0000], Gen.ULong[0, 0x10_0000_0000 + 0x40_0000]), // mostly low, some around the 64 GiB limit
            Gen.OneOf(Gen.ULong[1, 0x3000], Gen.ULong[0x1000, 0x60_0000]),
            Gen.Bool,
            Gen.Int[0, 2]);
        Gen.Select(region.Array[1, 40], Gen.ULong.Array[200]).Sample((regions, probes) =>
        {
            var aligned = regions.Select(r => (r.Item1 & ~0xfffUL | (r.Item2 < 0x1000 ? r.Item1 & 0xfff : 0), r.Item2, r.Item3, r.Item4));
            var (system, space) = Build(aligned);
            using (system)
            {
                DispatchTable table = space.Dispatch;
                DispatchRadix radix = table.BuildRadix();
                foreach (FlatRangeProbe p in Probes(space))
                {
                    AssertSame(table, radix, p.Address);
                }
                foreach (ulong probe in probes)
                {
                    AssertSame(table, radix, probe % (radix.Limit + 0x1000));
                }
            }
        }, iter: 150);
    }

    private readonly record struct FlatRangeProbe(ulong Address);

    private static IEnumerable<FlatRangeProbe> Probes(AddressSpace space)
    {
        foreach (var fr in space.CurrentMap.Ranges)
        {
            ulong last = fr.Start + (ulong)(fr.Size - 1);
            foreach (ulong a in new[] { fr.Start - 1, fr.Start, fr.Start + 1, fr.Start | 0xfff, (fr.Start | 0xfff) + 1, last - 1, last, last + 1 })
            {
                yield return new FlatRangeProbe(a);
            }
        }
    }

    [Fact]
    public void ManyPageAlignedRegionsAreAllAnsweredWithoutASearch()
    {
        // 1,024 RAM regions of 256 KiB, as in the guest-memory workload: every address is indexed.
        var (system, space) = Build(Enumerable.Range(0, 1024).Select(i => ((ulong)i * 0x4_0000, 0x4_0000UL, true, 0)));
        using (system)
        {
            DispatchRadix radix = space.Dispatch.BuildRadix();
            Assert.Equal(0x1000_0000UL, radix.Limit);
            Assert.Equal(128, radix.SecondLevels);
            for (ulong a = 0; a < 0x1000_0000; a += 0x1_0007)
            {
                ref readonly DispatchEntry e = ref radix.Find(a, out bool found);
                Assert.True(found);
                Assert.Equal(a & ~0x3_ffffUL, e.Start);
            }
            radix.Find(0x1000_0000, out bool above);
            Assert.False(above);
        }
    }

    [Fact]
    public void ASharedPageAndAHoleAreLeftToTheSearch()
    {
        // Two devices share page 0x1000; a hole follows them.
        var (system, space) = Build([(0x1000, 0x800, false, 0), (0x1800, 0x800, false, 0), (0x4000, 0x1000, true, 0)]);
        using (system)
        {
            DispatchTable table = space.Dispatch;
            DispatchRadix radix = table.BuildRadix();
            radix.Find(0x1900, out bool shared);
            Assert.False(shared);
            radix.Find(0x3000, out bool hole);
            Assert.False(hole);
            Assert.Null(table.Search(0x3000).Region);
            Assert.Equal(0x4000UL, radix.Find(0x4abc, out bool ram).Start);
            Assert.True(ram);
            // Through the table: every address still gets the search's answer.
            Assert.Equal(0x1800UL, table.EntryFor(0x1900).Start);
            Assert.Null(table.EntryFor(0x3000).Region);
        }
    }

    [Fact]
    public void ATableBuildsItsIndexAfterEnoughLookups()
    {
        var (system, space) = Build(Enumerable.Range(0, 64).Select(i => ((ulong)i * 0x10_0000, 0x10_0000UL, true, 0)));
        using (system)
        {
            DispatchTable table = space.Dispatch;
            Assert.Null(table.Radix);
            for (int i = 0; i < DispatchTable.RadixThreshold + 64; i++)
            {
                table.EntryFor((ulong)i * 0x1000);
            }
            Assert.NotNull(table.Radix);
        }
    }
}
