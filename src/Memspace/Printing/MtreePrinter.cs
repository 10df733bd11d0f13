using System.Text;
using Memspace.Regions;

namespace Memspace.Printing;

/// <summary>
/// Prints the region graph the way QEMU 7.2's <c>info mtree</c> does (tree mode, with <c>-o</c> and
/// <c>-D</c>).
/// </summary>
/// <remarks>
/// QEMU groups address spaces by root in hash-table order; Memspace prints the groups in the order
/// their first address space was created, so only the group order can differ from QEMU's output.
/// </remarks>
public static class MtreePrinter
{
    /// <summary>Prints every address space's tree, then one <c>memory-region:</c> section per alias target.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="writer">Where to print.</param>
    /// <param name="owner">Print owners (<c>-o</c>).</param>
    /// <param name="disabled">Also print disabled regions (<c>-D</c>).</param>
    public static void Print(MemorySystem system, TextWriter writer, bool owner = false, bool disabled = false)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(writer);
        lock (system.TopologyLock)
        {
            var printer = new Printer(writer, owner, disabled);
            var groups = new List<(MemoryRegion Root, List<AddressSpace> Spaces)>();
            foreach (AddressSpace space in system.AddressSpaces)
            {
                int g = groups.FindIndex(x => x.Root == space.Root);
                if (g < 0)
                {
                    groups.Add((space.Root, [space]));
                }
                else
                {
                    // g_slist_insert_sorted: before the first name that is not smaller.
                    List<AddressSpace> spaces = groups[g].Spaces;
                    int i = 0;
                    while (i < spaces.Count && string.CompareOrdinal(space.Name, spaces[i].Name) > 0)
                    {
                        i++;
                    }
                    spaces.Insert(i, space);
                }
            }
            foreach ((MemoryRegion root, List<AddressSpace> spaces) in groups)
            {
                foreach (AddressSpace space in spaces)
                {
                    writer.Write($"address-space: {space.Name}\n");
                }
                printer.PrintRegion(root, 1, 0);
                writer.Write("\n");
            }
            // The queue grows while it is printed: aliases inside alias targets add their targets.
            for (int i = 0; i < printer.AliasQueue.Count; i++)
            {
                MemoryRegion mr = printer.AliasQueue[i];
                writer.Write($"memory-region: {mr.Name}\n");
                printer.PrintRegion(mr, 1, 0);
                writer.Write("\n");
            }
        }
    }

    /// <summary>The type QEMU prints for a region ("ram", "rom", "romd", "ramd", "i/o", ...).</summary>
    /// <param name="region">The region.</param>
    public static string TypeName(MemoryRegion region) => MtreeFormat.TypeName(region);

    /// <summary>Returns <see cref="Print"/>'s output as a string.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">Print owners (<c>-o</c>).</param>
    /// <param name="disabled">Also print disabled regions (<c>-D</c>).</param>
    public static string ToText(MemorySystem system, bool owner = false, bool disabled = false)
    {
        var sw = new StringWriter();
        Print(system, sw, owner, disabled);
        return sw.ToString();
    }

    private sealed class Printer(TextWriter writer, bool owner, bool disabled)
    {
        public List<MemoryRegion> AliasQueue { get; } = [];

        private readonly HashSet<MemoryRegion> _queued = new(ReferenceEqualityComparer.Instance);

        /// <summary>Prints <paramref name="root"/> and everything below it, depth first with an explicit stack.</summary>
        public void PrintRegion(MemoryRegion root, int rootLevel, ulong rootBase)
        {
            var stack = new Stack<(MemoryRegion Region, int Level, ulong Base)>();
            stack.Push((root, rootLevel, rootBase));
            var children = new List<MemoryRegion>();
            while (stack.Count > 0)
            {
                (MemoryRegion mr, int level, ulong baseAddress) = stack.Pop();
                ulong curStart = PrintLine(mr, level, baseAddress);

                // Children by address, then higher priority first, then list order (a stable sort, as
                // QEMU's insertion into its print queue is); pushed last first.
                children.Clear();
                children.AddRange(mr.Subregions
                    .OrderBy(static r => r.Address)
                    .ThenByDescending(static r => r.Priority));
                for (int i = children.Count - 1; i >= 0; i--)
                {
                    stack.Push((children[i], level + 1, curStart));
                }
            }
        }

        private ulong PrintLine(MemoryRegion mr, int level, ulong baseAddress)
        {
            ulong curStart = unchecked(baseAddress + mr.Address);
            ulong curEnd = unchecked(curStart + MtreeFormat.LastOffset(mr.Size));
            var line = new StringBuilder();
            if (curStart < baseAddress || curEnd < curStart)
            {
                line.Append("[DETECTED OVERFLOW!] ");
            }
            if (mr.AliasTarget is { } target && _queued.Add(target))
            {
                AliasQueue.Add(target);
            }
            if (mr.Enabled || disabled)
            {
                for (int i = 0; i < level; i++)
                {
                    line.Append(MtreeFormat.Indent);
                }
                line.Append(MtreeFormat.Hex(curStart)).Append('-').Append(MtreeFormat.Hex(curEnd))
                    .Append(" (prio ").Append(mr.Priority).Append(", ")
                    .Append(mr.NonVolatile ? "nv-" : "").Append(MtreeFormat.TypeName(mr)).Append("): ");
                if (mr.AliasTarget is { } t)
                {
                    ulong aliasEnd = unchecked(mr.AliasOffset + MtreeFormat.LastOffset(mr.Size));
                    line.Append("alias ").Append(mr.Name).Append(" @").Append(t.Name).Append(' ')
                        .Append(MtreeFormat.Hex(mr.AliasOffset)).Append('-').Append(MtreeFormat.Hex(aliasEnd));
                }
                else
                {
                    line.Append(mr.Name);
                }
                if (!mr.Enabled)
                {
                    line.Append(" [disabled]");
                }
                if (owner)
                {
                    line.Append(MtreeFormat.OwnerText(mr));
                }
                line.Append('\n');
            }
            writer.Write(line.ToString());
            return curStart;
        }
    }
}
