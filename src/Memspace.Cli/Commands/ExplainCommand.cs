using System.CommandLine;
using System.Globalization;
using Memspace.Inspection;
using Memspace.Json;
using Memspace.Printing;
using Memspace.Regions;

namespace Memspace.Cli.Commands;

/// <summary>
/// <c>memspace explain ADDR [--as NAME]</c>: which region serves a guest address, through which aliases
/// and offsets, which regions it hides, and the RAMBlock, host address and KVM slot behind it.
/// </summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var address = new Argument<string>("address") { Description = "Guest address: 0x hex or decimal." };
        var space = new Option<string>("--as") { Description = "Address space name.", DefaultValueFactory = _ => "memory" };
        var json = JsonOption.Create();
        var command = new Command("explain", "Explain a guest address: flat range, region path with aliases and offsets, hidden regions, RAMBlock, host address, KVM slot.")
        {
            address, space, json,
        };
        var source = new GraphSource();
        source.AddTo(command);
        command.SetAction(parse =>
        {
            TextWriter error = parse.InvocationConfiguration.Error;
            string text = parse.GetValue(address)!;
            if (!TryParseAddress(text, out ulong addr))
            {
                error.WriteLine($"memspace: bad address '{text}': give 0x-prefixed hex or a decimal number below 2^64");
                return 2;
            }
            using LoadedGraph? graph = source.Load(parse);
            if (graph is null)
            {
                return 2;
            }
            string name = parse.GetValue(space)!;
            AddressSpace? target = graph.System.AddressSpaces.FirstOrDefault(s => s.Name == name);
            if (target is null)
            {
                error.WriteLine($"memspace: no address space \"{name}\"; there are: {string.Join(", ", graph.System.AddressSpaces.Select(s => $"\"{s.Name}\""))}");
                return 2;
            }
            AddressExplanation explanation = AddressExplainer.Explain(target, addr, graph.Machine?.Kvm);
            bool simulated = graph.Machine?.Kvm is { RealVm: null };
            if (parse.GetValue(json))
            {
                JsonOption.Write(parse.InvocationConfiguration.Output, MemspaceJson.Explain(explanation, simulated));
            }
            else
            {
                Print(parse.InvocationConfiguration.Output, explanation, simulated);
            }
            return 0;
        });
        return command;
    }

    internal static bool TryParseAddress(string text, out ulong value)
    {
        text = text.Trim().Replace("_", "", StringComparison.Ordinal);
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static void Print(TextWriter o, AddressExplanation x, bool simulatedKvm)
    {
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
