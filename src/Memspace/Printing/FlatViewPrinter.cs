using System.Text;
using Memspace.Rendering;

namespace Memspace.Printing;

/// <summary>
/// Prints the rendered views the way QEMU 7.2's <c>info mtree -f</c> does (with <c>-o</c>).
/// </summary>
/// <remarks>
/// QEMU prints the views in hash-table order and numbers them in that order; Memspace prints them
/// in the order of the first address space that uses each, so only the order and numbering can
/// differ from QEMU's output. When the memory system has an <see cref="IMemoryAccelerator"/>, ranges
/// it maps get its name appended once per address space, as QEMU appends <c> KVM</c>.
/// </remarks>
public static class FlatViewPrinter
{
    /// <summary>Prints every distinct view with the address spaces that use it.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="writer">Where to print.</param>
    /// <param name="owner">Print owners (<c>-o</c>).</param>
    public static void Print(MemorySystem system, TextWriter writer, bool owner = false)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(writer);
        lock (system.TopologyLock)
        {
            List<(FlatView View, List<AddressSpace> Spaces)> views = ByView(system);
            IMemoryAccelerator? accel = system.Accelerator;
            int counter = 0;
            foreach ((FlatView view, List<AddressSpace> spaces) in views)
            {
                var sb = new StringBuilder();
                sb.Append("FlatView #").Append(counter++).Append('\n');
                foreach (AddressSpace space in spaces)
                {
                    sb.Append(" AS \"").Append(space.Name).Append("\", root: ").Append(space.Root.Name);
                    if (space.Root.AliasTarget is { } target)
                    {
                        sb.Append(", alias ").Append(target.Name);
                    }
                    sb.Append('\n');
                }
                sb.Append(" Root memory region: ").Append(view.Root?.Name ?? "(none)").Append('\n');
                if (view.Count == 0)
                {
                    sb.Append(MtreeFormat.Indent).Append("No rendered FlatView\n\n");
                    writer.Write(sb.ToString());
                    continue;
                }
                foreach (ref readonly FlatRange range in view.RangeSpan)
                {
                    AppendRange(sb, range, owner, accel, spaces);
                }
                sb.Append('\n');
                writer.Write(sb.ToString());
            }
        }
    }

    /// <summary>Returns <see cref="Print"/>'s output as a string.</summary>
    /// <param name="system">The memory system.</param>
    /// <param name="owner">Print owners (<c>-o</c>).</param>
    public static string ToText(MemorySystem system, bool owner = false)
    {
        var sw = new StringWriter();
        Print(system, sw, owner);
        return sw.ToString();
    }

    private static void AppendRange(StringBuilder sb, in FlatRange range, bool owner, IMemoryAccelerator? accel, List<AddressSpace> spaces)
    {
        ulong end = unchecked(range.Start + MtreeFormat.LastOffset(range.Size));
        sb.Append(MtreeFormat.Indent).Append(MtreeFormat.Hex(range.Start)).Append('-').Append(MtreeFormat.Hex(end))
            .Append(" (prio ").Append(range.Region.Priority).Append(", ")
            .Append(range.NonVolatile ? "nv-" : "")
            .Append(range.ReadOnly ? "rom" : MtreeFormat.TypeName(range.Region))
            .Append("): ").Append(range.Region.Name);
        if (range.OffsetInRegion != 0)
        {
            sb.Append(" @").Append(MtreeFormat.Hex(range.OffsetInRegion));
        }
        if (owner)
        {
            sb.Append(MtreeFormat.OwnerText(range.Region));
        }
        if (accel is not null)
        {
            foreach (AddressSpace space in spaces)
            {
                if (accel.HasMemory(space, range.Start, (UInt128)MtreeFormat.LastOffset(range.Size) + 1))
                {
                    sb.Append(' ').Append(accel.Name);
                }
            }
        }
        sb.Append('\n');
    }

    /// <summary>
    /// The address spaces grouped by the view they share, views in the order of their first address
    /// space (as <c>info mtree -f</c> lists them). Call under the topology lock.
    /// </summary>
    internal static List<(FlatView View, List<AddressSpace> Spaces)> ByView(MemorySystem system)
    {
        var views = new List<(FlatView View, List<AddressSpace> Spaces)>();
        var index = new Dictionary<FlatView, int>(ReferenceEqualityComparer.Instance);
        foreach (AddressSpace space in system.AddressSpaces)
        {
            FlatView view = space.CurrentMap;
            if (index.TryGetValue(view, out int i))
            {
                views[i].Spaces.Add(space);
            }
            else
            {
                index[view] = views.Count;
                views.Add((view, [space]));
            }
        }
        return views;
    }
}
