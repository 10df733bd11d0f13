using System.Globalization;
using Memspace.Inspection;
using Memspace.Printing;
using Memspace.Regions;

namespace Memspace.Cli.Commands;

/// <summary>
/// The text of <c>memspace explain</c> for one address: flat range, section, the regions the renderer
/// tries with their offsets and roles, RAMBlock and KVM slot. <c>memspace map</c> shows the same text.
/// </summary>
internal static class ExplainText
{
    /// <summary>The explanation as <c>memspace explain</c> prints it, lines ending in "\n".</summary>
    /// <param name="x">The explanation.</param>
    /// <param name="simulatedKvm">Whether the slot comes from a simulated VM (said after the slot).</param>
    public static string Format(AddressExplanation x, bool simulatedKvm)
    {
        var o = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        o.WriteLine($"0x{x.Address:x16} in address space \"{x.Space.Name}\"");
        o.WriteLine($"  FlatView             gen {x.View.Generation}, root '{x.View.Root?.Name ?? "(none)"}', {x.View.Count} ranges");
        if (x.Range is { } r && x.Section is { } s)
        {
            string kind = r.Region.IsRomd ? "romd" : r.Region.IsRam ? (r.ReadOnly || r.Region.ReadOnly ? "rom" : "ram") : "i/o";
            o.WriteLine($"  FlatRange            [0x{(ulong)r.Start:x}, 0x{r.End:x}) {kind} '{r.Region.Name}' @0x{r.OffsetInRegion:x}");
            o.WriteLine($"  MemoryRegionSection  mr '{s.Region?.Name}', offset_within_region 0x{s.OffsetWithinRegion:x}, offset_within_address_space 0x{s.OffsetWithinAddressSpace:x}{(s.ReadOnly ? ", readonly" : "")}");
        }
        else
        {
            o.WriteLine("  FlatRange            none: nothing is mapped here (reads give 0 and MEMTX_DECODE_ERROR)");
        }
        o.WriteLine("  Regions covering the address, in the order the renderer tries them:");
        foreach (RegionStep step in x.Steps)
        {
            MemoryRegion mr = step.Region;
            string what = $"{mr.Name} ({Describe(mr)})";
            string role = step.Role switch
            {
                RegionRole.Serves => "SERVES",
                RegionRole.Path => "path",
                _ => "hidden",
            };
            o.WriteLine($"    {new string(' ', 2 * step.Depth)}{what,-48} +0x{step.Offset:x}  {role}: {step.Note}");
        }
        if (x.Block is { } b)
        {
            ulong ramAddr = b.Offset + x.BlockOffset;
            string host = b.Host == 0 ? "no host memory (imported map)" : $"host 0x{b.Host + (nint)x.BlockOffset:x}";
            o.WriteLine($"  RAMBlock             '{b.IdStr}' at ram_addr 0x{b.Offset:x}, offset 0x{x.BlockOffset:x}: ram_addr 0x{ramAddr:x}, {host}");
        }
        else
        {
            o.WriteLine("  RAMBlock             none (not RAM-backed)");
        }
        if (x.Slot is { } slot)
        {
            string flags = slot.ReadOnly ? " READONLY" : "";
            o.WriteLine($"  KVMSlot              Slot#{slot.KernelSlot} [0x{slot.StartAddr:x}, 0x{slot.StartAddr + slot.MemorySize:x}){flags}, userspace_addr 0x{slot.Ram:x}{(simulatedKvm ? " (simulated VM)" : "")}");
        }
        else
        {
            o.WriteLine(x.Block is null ? "  KVMSlot              none: accesses here exit to userspace (KVM_EXIT_MMIO)" : "  KVMSlot              none (no accelerator, or the range is not page-aligned)");
        }
        return o.ToString();
    }

    private static string Describe(MemoryRegion mr)
    {
        var parts = new List<string> { mr.IsAlias ? "alias" : MtreePrinter.TypeName(mr) };
        if (mr.Priority != 0)
        {
            parts.Add($"prio {mr.Priority}");
        }
        if (mr.ReadOnly && mr.IsAlias)
        {
            parts.Add("read-only");
        }
        return string.Join(", ", parts);
    }
}
