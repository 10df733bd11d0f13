using System.CommandLine;
using System.Globalization;
using Memspace.Inspection;
using Memspace.Json;
using Memspace.Unicorn;

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
            string text = parse.GetValue(address)!;
            if (!TryParseAddress(text, out ulong addr))
            {
                throw CliError.Input($"bad address '{text}': give 0x-prefixed hex or a decimal number below 2^64");
            }
            using LoadedGraph graph = source.Load(parse);
            string name = parse.GetValue(space)!;
            AddressSpace target = graph.System.AddressSpaces.FirstOrDefault(s => s.Name == name)
                ?? throw CliError.Input($"no address space \"{name}\"; there are: {string.Join(", ", graph.System.AddressSpaces.Select(s => $"\"{s.Name}\""))}");
            AddressExplanation explanation = AddressExplainer.Explain(target, addr, graph.Machine?.Kvm);
            bool simulated = graph.Machine?.Kvm is { RealVm: null };
            if (parse.GetValue(json))
            {
                JsonOption.Write(parse.InvocationConfiguration.Output, MemspaceJson.Explain(explanation, simulated));
            }
            else
            {
                parse.InvocationConfiguration.Output.Write(ExplainText.Format(explanation, simulated));
                if (graph.Machine?.Unicorn is { } unicorn && unicorn.MemorySpace == target)
                {
                    UnicornMapping? m = unicorn.Mappings.FirstOrDefault(m => m.Start <= addr && addr < m.End);
                    parse.InvocationConfiguration.Output.WriteLine(m is null
                        ? "  Unicorn mapping      none yet: the guest's first access maps an 'unassigned' window here"
                        : $"  Unicorn mapping      {(m.Kind == UnicornMappingKind.Ram ? "uc_mem_map_ptr" : "uc_mmio_map")} {m}");
                }
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
}
