using System.Diagnostics;
using CsCheck;
using Memspace.Ram;
using Memspace.Regions;

namespace Memspace.Tests.Ram;

/// <summary>
/// RAMList placement through the gap index against a plain transcription of QEMU's
/// <c>find_ram_offset</c> scan and <c>ram_block_add</c>'s list insertion, over random sequences of
/// block creations and destructions; and the scale the index is for (run with no other test at the
/// same time, since it measures time).
/// </summary>
[Collection(nameof(RamScale))]
public class RamPlacementPropertyTests
{
    /// <summary>QEMU's algorithm, written as plainly as QEMU writes it: every block against every block.</summary>
    private sealed class QemuScanModel(ulong alignment)
    {
        public readonly List<(string Name, ulong Offset, ulong MaxLength)> Blocks = [];

        public ulong? FindRamOffset(ulong size)
        {
            if (Blocks.Count == 0)
            {
                return 0;
            }
            ulong offset = ulong.MaxValue, minGap = ulong.MaxValue;
            foreach (var block in Blocks)
            {
                UInt128 rounded = ((UInt128)block.Offset + block.MaxLength + alignment - 1) / alignment * alignment;
                if (rounded > ulong.MaxValue)
                {
                    continue;
                }
                ulong candidate = (ulong)rounded, next = ulong.MaxValue;
                foreach (var other in Blocks)
                {
                    if (other.Offset >= candidate)
                    {
                        next = Math.Min(next, other.Offset);
                    }
                }
                if (next - candidate >= size && next - candidate < minGap)
                {
                    offset = candidate;
                    minGap = next - candidate;
                }
            }
            return offset == ulong.MaxValue ? null : offset;
        }

        public void Add(string name, ulong offset, ulong maxLength)
        {
            int i = Blocks.FindIndex(b => b.MaxLength < maxLength);
            Blocks.Insert(i < 0 ? Blocks.Count : i, (name, offset, maxLength));
        }
    }

    /// <summary>Pages of a new block: small and equal sizes (ties), exact alignment multiples, large ones.</summary>
    private static readonly Gen<ulong> s_pages = Gen.Frequency(
        (4, Gen.Int[1, 4].Select(i => (ulong)i)),
        (3, Gen.Int[1, 4].Select(i => (ulong)i * 64)),
        (2, Gen.Int[1, 300].Select(i => (ulong)i)),
        (1, Gen.Int[1, 4096].Select(i => (ulong)i * 64 + 1)));

    /// <summary>An operation: destroy an existing block (by index) or create one of the given pages.</summary>
    private static readonly Gen<(bool Destroy, int Index, ulong Pages)[]> s_ops =
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 1000], s_pages, (k, i, p) => (k < 3, i, p)).Array[1, 60];

    [Fact]
    public void GapIndexPlacesEveryBlockWhereQemusScanDoes()
    {
        s_ops.Sample(ops =>
        {
            using var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false });
            var model = new QemuScanModel(s.RamList.BlockAlignment);
            var live = new List<MemoryRegion>();
            for (int n = 0; n < ops.Length; n++)
            {
                var (destroy, index, pages) = ops[n];
                if (destroy && live.Count > 0)
                {
                    MemoryRegion victim = live[index % live.Count];
                    live.Remove(victim);
                    model.Blocks.RemoveAll(b => b.Name == victim.Name);
                    victim.Destroy();
                }
                else
                {
                    ulong size = pages * 4096;
                    ulong? expected = model.FindRamOffset(size);
                    Assert.Equal(expected, s.RamList.FindRamOffset(size));
                    MemoryRegion mr = MemoryRegion.CreateRam(s, $"b{n}", size);
                    Assert.Equal(expected, mr.RamAddr);
                    model.Add(mr.Name, mr.RamAddr, size);
                    live.Add(mr);
                }
                Assert.Equal(model.Blocks.Select(b => (b.Name, b.Offset)), s.RamList.Blocks.Select(b => (b.RegionName, b.Offset)));
                foreach (var b in model.Blocks)
                {
                    Assert.Equal(b.Name, s.RamList.LookupByRamAddr(b.Offset + b.MaxLength - 1)?.RegionName);
                }
            }
        }, iter: 300);
    }

    [Fact]
    public void CreatingAndMappingRamGrowsLinearly()
    {
        // The best of three runs each: other processes on a shared machine only ever add time. The
        // absolute figure (100,000 regions well under 2 s) is the RamScaleBenchmarks' job; here the
        // growth from 10,000 to 100,000 must stay near linear (QEMU's scan would make it ~1000x).
        static TimeSpan Best(int count)
        {
            TimeSpan best = TimeSpan.MaxValue;
            for (int run = 0; run < 3; run++)
            {
                best = TimeSpan.FromTicks(Math.Min(best.Ticks, CreateAndMap(count).Ticks));
            }
            return best;
        }
        TimeSpan small = Best(10_000), large = Best(100_000);
        double growth = large / small;
        Assert.True(growth < 25, $"10,000 RAM regions took {small.TotalMilliseconds:F0} ms, 100,000 took {large.TotalMilliseconds:F0} ms: {growth:F1}x");
        Assert.True(large < TimeSpan.FromSeconds(20), $"100,000 RAM regions took {large.TotalMilliseconds:F0} ms");
    }

    private static TimeSpan CreateAndMap(int count)
    {
        using var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false });
        MemoryRegion root = MemoryRegion.CreateContainer(s, "root", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        var watch = Stopwatch.StartNew();
        using (s.Transaction())
        {
            for (int i = 0; i < count; i++)
            {
                root.AddSubregion((ulong)i * 0x2000, MemoryRegion.CreateRam(s, $"ram{i}", 0x1000));
            }
        }
        watch.Stop();
        Assert.Equal(count, s.RamList.Blocks.Count);
        Assert.Equal(count, space.CurrentMap.Ranges.Count);
        Assert.Equal((ulong)(count - 1) * s.RamList.BlockAlignment, s.RamList.Blocks[^1].Offset);
        return watch.Elapsed;
    }
}

/// <summary>Tests that measure time run alone.</summary>
[CollectionDefinition(nameof(RamScale), DisableParallelization = true)]
public sealed class RamScale;
