using System.CommandLine;
using Memspace.Import;
using Memspace.Machines;

namespace Memspace.Cli.Commands;

/// <summary>
/// Where a command's memory graph comes from: the built-in example, one of Memspace's machines
/// (<c>--machine NAME -m SIZE</c>), or a QEMU <c>info mtree -D</c> dump with the options that restore
/// what the dump does not print.
/// </summary>
internal sealed class GraphSource
{
    private readonly Option<string?> _machine = new("--machine", "-M")
    {
        Description = $"Build a machine as QEMU 7.2 does: {string.Join(", ", Machine.Names)}.",
    };

    private readonly Option<string> _memory = new("--memory", "-m")
    {
        Description = "RAM size for --machine, as QEMU's -m takes it: a plain number is MiB; K, M, G and T suffixes work.",
        DefaultValueFactory = _ => "512M",
    };

    private readonly Option<bool> _noSmm = new("--no-smm")
    {
        Description = "Build the machine with smm=off (no KVM-SMRAM address space).",
    };

    private readonly Option<string> _kvmDevice = new("--kvm-device")
    {
        Description = "The KVM device to open (default /dev/kvm); a path that does not exist runs everything but the guest, as on a host without KVM.",
        DefaultValueFactory = _ => "/dev/kvm",
    };

    private readonly Option<int> _kvmAddressSpaces = new("--simulated-kvm-address-spaces")
    {
        Description = "Address spaces the simulated KVM VM offers (2: normal and SMM; 1: a KVM without SMM). For testing.",
        DefaultValueFactory = _ => 2,
        Hidden = true,
    };

    private readonly Option<bool> _fullRender = new("--full-render")
    {
        Description = "Render every view from the whole region graph at every commit, as QEMU does, instead of incrementally (for comparison).",
    };

    private readonly Option<string?> _import = new("--import")
    {
        Description = "Load the graph from a QEMU 7.2 'info mtree -D' dump instead of the built-in example.",
    };

    private readonly Option<string[]> _terminating = new("--terminating")
    {
        Description = "An 'i/o' region with subregions that has callbacks of its own and fills its gaps (QEMU's 'io' root). Repeatable.",
    };

    private readonly Option<string[]> _container = new("--container")
    {
        Description = "An 'i/o' region without subregions that is an empty pure container (e.g. 'gpex_mmio'). Repeatable.",
    };

    private readonly Option<string[]> _readOnly = new("--readonly")
    {
        Description = "Regions of this name are read-only (e.g. PAM's 'pam-rom' aliases). Repeatable.",
    };

    private readonly Option<string[]> _empty = new("--empty")
    {
        Description = "Regions of this name printed as 'X-X' are empty rather than one byte long. Repeatable.",
    };

    /// <summary>Adds only --machine, -m and --no-smm (for commands that need a machine).</summary>
    public void AddMachineOptionsTo(Command command)
    {
        command.Options.Add(_machine);
        command.Options.Add(_memory);
        command.Options.Add(_noSmm);
        command.Options.Add(_kvmDevice);
        command.Options.Add(_kvmAddressSpaces);
        command.Options.Add(_fullRender);
    }

    /// <summary>The --import option (for commands that name the dump).</summary>
    public Option<string?> ImportOption => _import;

    /// <summary>Whether <paramref name="option"/> was written on the command line (not just defaulted).</summary>
    private static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>The machine name given, or null.</summary>
    public string? MachineName(ParseResult parse) => parse.GetValue(_machine);

    public void AddTo(Command command)
    {
        AddMachineOptionsTo(command);
        command.Options.Add(_import);
        command.Options.Add(_terminating);
        command.Options.Add(_container);
        command.Options.Add(_readOnly);
        command.Options.Add(_empty);
    }

    /// <summary>Builds the machine named by --machine (or <paramref name="defaultMachine"/>); throws a <see cref="CliError"/> when it cannot.</summary>
    /// <param name="parse">The command line.</param>
    /// <param name="accelerator">Where slot ioctls go.</param>
    /// <param name="timeline">Receives the chain of events while the machine is built, or null.</param>
    /// <param name="firmware">Firmware image, or null for the machine's default.</param>
    /// <param name="defaultMachine">Machine to build when --machine is absent, or null to require it.</param>
    public Machine LoadMachine(ParseResult parse, MachineAccelerator accelerator, Tracing.ChainTimeline? timeline = null, byte[]? firmware = null, string? defaultMachine = null)
    {
        string name = parse.GetValue(_machine) ?? defaultMachine
            ?? throw CliError.Input($"--machine is required ({string.Join(", ", Machine.Names)})");
        if (!Machine.Names.Contains(name))
        {
            throw CliError.Input($"unknown machine '{name}'; Memspace builds {string.Join(", ", Machine.Names)}");
        }
        string sizeText = parse.GetValue(_memory) ?? "512M";
        if (!RamSize.TryParse(sizeText, out ulong size, out string? why))
        {
            throw CliError.Input($"bad -m size: {why}");
        }
        int spaces = parse.GetValue(_kvmAddressSpaces);
        if (spaces is < 1 or > 2)
        {
            throw CliError.Input($"bad --simulated-kvm-address-spaces {spaces}: 1 or 2");
        }
        try
        {
            return Machine.Create(name, new MachineOptions
            {
                RamSize = size,
                Smm = !parse.GetValue(_noSmm),
                Accelerator = accelerator,
                Timeline = timeline,
                Firmware = firmware,
                KvmDevicePath = parse.GetValue(_kvmDevice)!,
                SimulatedKvmAddressSpaces = spaces,
                MemoryOptions = parse.GetValue(_fullRender) ? new MemorySystemOptions { IncrementalRendering = false } : null,
            });
        }
        catch (MachineConfigurationException e) when (e.Option == nameof(MachineOptions.RamSize))
        {
            throw CliError.Input($"bad -m size: '{sizeText}': {e.Message}");
        }
        catch (Exception e) when (e is ArgumentException or Core.MemspaceException)
        {
            throw CliError.Runtime($"cannot build machine '{name}': {e.Message}");
        }
    }

    /// <summary>Builds the graph; throws a <see cref="CliError"/> when it cannot, or when options that do not apply were given.</summary>
    public LoadedGraph Load(ParseResult parse)
    {
        Option[] importOnly = [_terminating, _container, _readOnly, _empty];
        Option[] machineOnly = [_memory, _noSmm, _kvmDevice, _kvmAddressSpaces, _fullRender];
        if (parse.GetValue(_machine) is not null)
        {
            if (Given(parse, _import))
            {
                throw CliError.Input("use either --machine or --import, not both");
            }
            if (importOnly.FirstOrDefault(o => Given(parse, o)) is { } stray)
            {
                throw CliError.Input($"{stray.Name} applies to --import, not to --machine");
            }
            Machine m = LoadMachine(parse, MachineAccelerator.Simulated);
            return new LoadedGraph(m.System, m);
        }
        if (machineOnly.FirstOrDefault(o => Given(parse, o)) is { } machineOption)
        {
            throw CliError.Input($"{machineOption.Name} applies only with --machine");
        }
        if (parse.GetValue(_import) is not { } file)
        {
            if (importOnly.FirstOrDefault(o => Given(parse, o)) is { } importOption)
            {
                throw CliError.Input($"{importOption.Name} applies only with --import");
            }
            parse.InvocationConfiguration.Error.WriteLine("memspace: no --machine or --import given: this is the built-in example graph");
            return new LoadedGraph(ExampleGraph.Build(), null);
        }
        var options = new MtreeImportOptions
        {
            Terminating = Set(parse.GetValue(_terminating)),
            Containers = Set(parse.GetValue(_container)),
            ReadOnly = Set(parse.GetValue(_readOnly)),
            Empty = Set(parse.GetValue(_empty)),
        };
        MemorySystem system = MtreeImporter.ImportFile(file.ToString(), options);
        try
        {
            HashSet<string> names = RegionNames(system);
            foreach ((Option option, IReadOnlySet<string> given) in new (Option, IReadOnlySet<string>)[]
                     { (_terminating, options.Terminating), (_container, options.Containers), (_readOnly, options.ReadOnly), (_empty, options.Empty) })
            {
                if (given.FirstOrDefault(n => !names.Contains(n)) is { } unknown)
                {
                    throw CliError.Input($"{option.Name} '{unknown}' matches no region in {file}");
                }
            }
        }
        catch
        {
            system.Dispose();
            throw;
        }
        return new LoadedGraph(system, null);
    }

    /// <summary>The names of every region reachable from an address space (iteratively).</summary>
    private static HashSet<string> RegionNames(MemorySystem system)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<Regions.MemoryRegion>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Regions.MemoryRegion>(system.AddressSpaces.Select(s => s.Root));
        while (stack.Count > 0)
        {
            Regions.MemoryRegion mr = stack.Pop();
            if (!seen.Add(mr))
            {
                continue;
            }
            names.Add(mr.Name);
            if (mr.AliasTarget is { } target)
            {
                stack.Push(target);
            }
            foreach (Regions.MemoryRegion sub in mr.Subregions)
            {
                stack.Push(sub);
            }
        }
        return names;
    }

    private static HashSet<string> Set(string[]? names) => new(names ?? [], StringComparer.Ordinal);
}

/// <summary>A graph to print or explain, and the machine that owns it, if any.</summary>
internal sealed class LoadedGraph(MemorySystem system, Machine? machine) : IDisposable
{
    public MemorySystem System { get; } = system;

    public Machine? Machine { get; } = machine;

    public void Dispose()
    {
        if (Machine is not null)
        {
            Machine.Dispose();
        }
        else
        {
            System.Dispose();
        }
    }
}
