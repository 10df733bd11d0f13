using Memspace.Inspection;
using Memspace.Printing;
using Memspace.Regions;

namespace Memspace.Tests.Regions;

/// <summary>
/// Graphs far deeper than any thread stack would allow a recursive walk: rendering (both modes),
/// <c>info mtree</c>, the flat views and <c>explain</c> run on a thread with a 256 KiB stack.
/// </summary>
public class DeepGraphTests
{
    private const int Depth = 5000;

    /// <summary>A chain of <see cref="Depth"/> containers, every 1000th level an alias of the next container, with RAM at the bottom.</summary>
    private static (MemorySystem System, AddressSpace Space) Chain(bool incremental)
    {
        var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false, IncrementalRendering = incremental });
        MemoryRegion root = MemoryRegion.CreateContainer(s, "root", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        using (s.Transaction())
        {
            MemoryRegion c = root;
            for (int i = 0; i < Depth; i++)
            {
                MemoryRegion next = MemoryRegion.CreateContainer(s, $"c{i}", 0x100000);
                if (i % 1000 == 999)
                {
                    c.AddSubregion(0x10, MemoryRegion.CreateAlias(s, $"a{i}", next, 0x10, 0x100000 - 0x20));
                }
                else
                {
                    c.AddSubregion(0, next);
                }
                c = next;
            }
            c.AddSubregion(0x1000, MemoryRegion.CreateRam(s, "leaf", 0x1000));
            c.AddSubregion(0x3000, MemoryRegion.CreateIo(s, "dev", 0x100, new MemoryRegionOps { Read = (_, _) => 0, Write = (_, _, _) => { } }));
        }
        return (s, space);
    }

    private static T OnSmallStack<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        return failure is null ? result : throw new InvalidOperationException("failed on the small stack", failure);
    }

    [Fact]
    public void BothRenderersRenderTheWholeDepth()
    {
        string[] Ranges(bool incremental) => OnSmallStack(() =>
        {
            (MemorySystem s, AddressSpace space) = Chain(incremental);
            using (s)
            {
                return space.CurrentMap.Ranges.Select(r => r.ToString()).ToArray();
            }
        });
        string[] incremental = Ranges(true);
        Assert.Equal(2, incremental.Length);
        Assert.Contains("leaf", incremental[0]);
        Assert.Equal(incremental, Ranges(false));
    }

    [Fact]
    public void PrintingAndExplainingDoNotRecurse()
    {
        (string Tree, string Flat, AddressExplanation Explained) = OnSmallStack(() =>
        {
            (MemorySystem s, AddressSpace space) = Chain(true);
            return (MtreePrinter.ToText(s, disabled: true), FlatViewPrinter.ToText(s), AddressExplainer.Explain(space, 0x1000));
        });
        string[] lines = Tree.Split('\n');
        // The first alias is 1000 levels down; each alias target gets its own section, as deep.
        Assert.Contains(lines, l => l.EndsWith(": alias a999 @c999 0000000000000010-00000000000fffef", StringComparison.Ordinal) && l.StartsWith(new string(' ', 2 * 1000), StringComparison.Ordinal));
        // Header, root, the containers, the aliases, leaf and dev; five section headers; six blank lines; the empty tail of Split.
        Assert.Equal(1 + (1 + Depth + 5 + 2) + 5 + 6 + 1, lines.Length);
        Assert.Contains("leaf", Flat);
        Assert.Equal(RegionRole.Serves, Explained.Steps[^1].Role);
        Assert.Equal("leaf", Explained.Steps[^1].Region.Name);
        Assert.Equal(Depth + 5 + 2, Explained.Steps.Count);
        Assert.All(Explained.Steps.Take(Explained.Steps.Count - 2), step => Assert.Equal(RegionRole.Path, step.Role));
    }
}
