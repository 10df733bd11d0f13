using System.CommandLine;
using Memspace.Diff;
using Memspace.Json;
using Memspace.Machines;

namespace Memspace.Cli.Commands;

/// <summary>
/// <c>memspace diff A B</c>: compares two memory maps, each a dump file (or pasted transcript), '-'
/// for standard input, <c>qmp:SOCKET</c> for a running QEMU or <c>machine:NAME[:SIZE]</c> for one of
/// Memspace's machines. Exit 0 when equal, 1 when they differ, 2 on bad input.
/// </summary>
internal static class DiffCommand
{
    public static Command Create()
    {
        var left = new Argument<string>("A") { Description = "First map: a dump file, '-' (standard input), qmp:SOCKET, or machine:NAME[:SIZE]." };
        var right = new Argument<string>("B") { Description = "Second map, in the same forms." };
        var json = JsonOption.Create();
        var command = new Command("diff", "Compare two memory maps: per address space the flat ranges added, removed and changed, then the regions whose properties differ. Exit 0 equal, 1 different, 2 bad input.")
        {
            left, right, json,
        };
        command.SetAction(parse =>
        {
            TextWriter error = parse.InvocationConfiguration.Error;
            string a = parse.GetValue(left)!;
            string b = parse.GetValue(right)!;
            if (a == "-" && b == "-")
            {
                error.WriteLine("memspace: only one side of diff can be '-' (standard input)");
                return 2;
            }
            using Side? sideA = Load(a, error);
            if (sideA is null)
            {
                return 2;
            }
            using Side? sideB = Load(b, error);
            if (sideB is null)
            {
                return 2;
            }
            MemoryMapDiffResult diff = MemoryMapDiff.Compare(sideA.System, sideB.System);
            if (parse.GetValue(json))
            {
                JsonOption.Write(parse.InvocationConfiguration.Output, MemspaceJson.Diff(diff, a, b));
            }
            else
            {
                MemoryMapDiffPrinter.Print(diff, a, b, parse.InvocationConfiguration.Output);
            }
            return diff.IsEqual ? 0 : 1;
        });
        return command;
    }

    /// <summary>One side's memory system and what owns it.</summary>
    private sealed class Side(MemorySystem system, Machine? machine) : IDisposable
    {
        public MemorySystem System { get; } = system;

        public void Dispose()
        {
            if (machine is not null)
            {
                machine.Dispose();
            }
            else
            {
                System.Dispose();
            }
        }
    }

    private static Side? Load(string spec, TextWriter error)
    {
        if (spec.StartsWith("machine:", StringComparison.Ordinal))
        {
            string[] parts = spec["machine:".Length..].Split(':');
            string name = parts[0];
            if (parts.Length > 2 || !Machine.Names.Contains(name))
            {
                error.WriteLine($"memspace: bad map '{spec}': give machine:NAME[:SIZE] with NAME one of {string.Join(", ", Machine.Names)}");
                return null;
            }
            ulong size = 512UL << 20;
            if (parts.Length == 2 && !RamSize.TryParse(parts[1], out size, out string? why))
            {
                error.WriteLine($"memspace: bad map '{spec}': bad size: {why}");
                return null;
            }
            try
            {
                Machine machine = Machine.Create(name, new MachineOptions { RamSize = size, Accelerator = MachineAccelerator.Simulated });
                return new Side(machine.System, machine);
            }
            catch (Exception e) when (e is ArgumentException or Core.MemspaceException)
            {
                error.WriteLine($"memspace: bad map '{spec}': {e.Message}");
                return null;
            }
        }
        (string, string?)? input = spec.StartsWith("qmp:", StringComparison.Ordinal)
            ? DumpInput.Query(spec["qmp:".Length..], error)
            : DumpInput.ReadFile(spec, error);
        return input is { } i && DumpInput.Import(i, null, $"'{spec}'", error, spec is "-" || spec.StartsWith("qmp:", StringComparison.Ordinal) ? null : spec) is { } system ? new Side(system, null) : null;
    }
}
