using System.CommandLine;
using Memspace.Import;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Unicorn;

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

    private readonly Option<string?> _accel = new Option<string?>("--accel")
    {
        Description = "Accelerator: kvm (/dev/kvm, else a simulated VM), unicorn (libunicorn2, QEMU's TCG as a library), or auto (KVM if /dev/kvm works, else Unicorn if libunicorn2 loads, else a simulated KVM VM). Default: auto for run, kvm for the others.",
    }.AcceptOnlyFromAmong("kvm", "unicorn", "auto");

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

    private readonly Option<string?> _firmware = new("--firmware")
    {
        Description = "Boot this BIOS image on the machine first ('seabios': Debian's /usr/share/seabios/bios-256k.bin), until it prints \"No bootable device\", halts, resets or --timeout passes; then show the state.",
    };

    private readonly Option<double> _timeout = new("--timeout")
    {
        Description = "Seconds to let the guest or --firmware run before stopping it.",
        DefaultValueFactory = _ => 60,
    };

    private readonly Option<bool> _qemuSlotFlags = new("--qemu-slot-flags")
    {
        Description = "Give PAM's read-only RAM writable KVM slots, as QEMU 7.2 does (Memspace makes them read-only by default).",
    };

    private readonly Option<string?> _import = new("--import")
    {
        Description = "Load the graph from QEMU 7.2's 'info mtree -D' output, or a pasted monitor transcript holding it (and 'info mtree -f', from which the facts the dump does not print are derived); '-' reads standard input.",
    };

    private readonly Option<string?> _qmp = new("--qmp")
    {
        Description = "Load the graph from a running QEMU: the path of its QMP unix socket (-qmp unix:PATH,server=on,wait=off).",
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
        command.Options.Add(_accel);
        command.Options.Add(_kvmAddressSpaces);
        command.Options.Add(_fullRender);
        command.Options.Add(_firmware);
        command.Options.Add(_timeout);
        command.Options.Add(_qemuSlotFlags);
    }

    /// <summary>The --import option (for commands that name the dump).</summary>
    public Option<string?> ImportOption => _import;

    /// <summary>The --firmware argument, or null.</summary>
    public string? Firmware(ParseResult parse) => parse.GetValue(_firmware);

    /// <summary>The --timeout value.</summary>
    public TimeSpan Timeout(ParseResult parse)
    {
        double seconds = parse.GetValue(_timeout);
        if (!double.IsFinite(seconds) || seconds <= 0 || seconds > MaxTimeoutSeconds)
        {
            throw CliError.Input($"bad --timeout {parse.GetResult(_timeout)?.Tokens.FirstOrDefault()?.Value ?? seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}: give seconds, more than 0 and at most {MaxTimeoutSeconds}");
        }
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Longest --timeout accepted: one day.</summary>
    private const double MaxTimeoutSeconds = 86400;

    /// <summary>Why --accel auto chose what it chose, when that is not KVM; set by <see cref="LoadMachine"/>.</summary>
    public string? AcceleratorNote { get; private set; }

    /// <summary>Whether <paramref name="option"/> was written on the command line (not just defaulted).</summary>
    private static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>The machine name given, or null.</summary>
    public string? MachineName(ParseResult parse) => parse.GetValue(_machine);

    /// <summary>--kvm-device.</summary>
    public string KvmDevice(ParseResult parse) => parse.GetValue(_kvmDevice)!;

    public void AddTo(Command command)
    {
        AddMachineOptionsTo(command);
        command.Options.Add(_import);
        command.Options.Add(_qmp);
        command.Options.Add(_terminating);
        command.Options.Add(_container);
        command.Options.Add(_readOnly);
        command.Options.Add(_empty);
    }

    /// <summary>Builds the machine named by --machine (or <paramref name="defaultMachine"/>); throws a <see cref="CliError"/> when it cannot.</summary>
    /// <param name="parse">The command line.</param>
    /// <param name="accelerator">Where slot ioctls go with <c>--accel kvm</c>.</param>
    /// <param name="timeline">Receives the chain of events while the machine is built, or null.</param>
    /// <param name="firmware">Firmware image, or null for the machine's default.</param>
    /// <param name="defaultMachine">Machine to build when --machine is absent, or null to require it.</param>
    /// <param name="kernelIrqchip">Whether the board uses KVM's in-kernel irqchip (default: yes, as QEMU); the built-in guest needs HLT to exit, so <c>run</c> turns it off.</param>
    /// <param name="defaultAccel">The --accel value when it is absent.</param>
    public Machine LoadMachine(ParseResult parse, MachineAccelerator accelerator, Tracing.ChainTimeline? timeline = null, byte[]? firmware = null, string? defaultMachine = null, bool kernelIrqchip = true, string defaultAccel = "kvm")
    {
        AcceleratorNote = null;
        switch (parse.GetValue(_accel) ?? defaultAccel)
        {
            case "unicorn":
                accelerator = MachineAccelerator.Unicorn;
                break;
            case "auto":
                if (KvmVm.IsAvailable(out string kvmWhy, parse.GetValue(_kvmDevice)!))
                {
                    accelerator = MachineAccelerator.Kvm;
                }
                else if (UnicornAccelerator.IsAvailable(out string ucWhy))
                {
                    accelerator = MachineAccelerator.Unicorn;
                    AcceleratorNote = $"no KVM here ({kvmWhy}), so Unicorn (QEMU's TCG as a library) runs the guest";
                }
                else
                {
                    accelerator = MachineAccelerator.KvmIfAvailable;
                    AcceleratorNote = $"no KVM here ({kvmWhy}) and no Unicorn ({ucWhy})";
                }
                break;
        }
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
        string? firmwareArgument = parse.GetValue(_firmware);
        if (firmware is null && firmwareArgument is not null)
        {
            firmware = Machines.Firmware.SeaBios.Load(firmwareArgument, out string? bad);
            if (firmware is null)
            {
                throw CliError.Input(bad ?? $"cannot load firmware '{firmwareArgument}'");
            }
        }
        bool realFirmware = firmwareArgument is not null;
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
                MemoryOptions = new MemorySystemOptions
                {
                    IncrementalRendering = !parse.GetValue(_fullRender),
                    HonourSectionReadOnly = !parse.GetValue(_qemuSlotFlags),
                },
                // A real firmware gets QEMU's -nodefaults board with the debug console it logs to.
                DebugConsole = realFirmware,
                KernelIrqchip = kernelIrqchip || realFirmware,
                Serial = !realFirmware,
                DemoDevice = !realFirmware,
            });
        }
        catch (MachineConfigurationException e) when (e.Option == nameof(MachineOptions.RamSize))
        {
            throw CliError.Input($"bad -m size: '{sizeText}': {e.Message}");
        }
        catch (UnicornUnavailableException e)
        {
            throw CliError.Runtime($"cannot use --accel unicorn: {e.Message}");
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
        Option[] machineOnly = [_memory, _noSmm, _kvmDevice, _kvmAddressSpaces, _fullRender, _accel, _firmware, _qemuSlotFlags, _timeout];
        if (parse.GetValue(_machine) is not null)
        {
            if (Given(parse, _import) || Given(parse, _qmp))
            {
                throw CliError.Input("use either --machine or --import/--qmp, not both");
            }
            if (importOnly.FirstOrDefault(o => Given(parse, o)) is { } stray)
            {
                throw CliError.Input($"{stray.Name} applies to --import, not to --machine");
            }
            bool boot = parse.GetValue(_firmware) is not null;
            Machine m = LoadMachine(parse, boot ? MachineAccelerator.KvmIfAvailable : MachineAccelerator.Simulated);
            if (boot)
            {
                FirmwareRunner.Boot(m, parse.InvocationConfiguration.Error, Timeout(parse), line: null);
            }
            return new LoadedGraph(m.System, m);
        }
        if (machineOnly.FirstOrDefault(o => Given(parse, o)) is { } machineOption)
        {
            throw CliError.Input($"{machineOption.Name} applies only with --machine");
        }
        string? file = parse.GetValue(_import);
        string? qmp = parse.GetValue(_qmp);
        if (file is null && qmp is null)
        {
            if (importOnly.FirstOrDefault(o => Given(parse, o)) is { } importOption)
            {
                throw CliError.Input($"{importOption.Name} applies only with --import");
            }
            parse.InvocationConfiguration.Error.WriteLine("memspace: no --machine or --import given: this is the built-in example graph");
            return new LoadedGraph(ExampleGraph.Build(), null);
        }
        TextWriter error = parse.InvocationConfiguration.Error;
        if (file is not null && qmp is not null)
        {
            throw CliError.Input("use either --import or --qmp, not both");
        }
        var options = new MtreeImportOptions
        {
            Terminating = Set(parse.GetValue(_terminating)),
            Containers = Set(parse.GetValue(_container)),
            ReadOnly = Set(parse.GetValue(_readOnly)),
            Empty = Set(parse.GetValue(_empty)),
        };
        if (file is not null && file != "-" && new FileInfo(file) is not { Exists: true, Length: > 0 })
        {
            // Not a regular file with content (a directory, a device, a FIFO, missing or empty): the
            // streaming importer reads it with its limits and names the problem with the line.
            return Checked(MtreeImporter.ImportFile(file, options), options, file);
        }
        // Import warnings go to stderr; a failure becomes the one error line.
        var diagnostics = new StringWriter();
        (string, string?)? input = file is not null ? DumpInput.ReadFile(file, diagnostics) : DumpInput.Query(qmp!, diagnostics);
        MemorySystem? imported = input is { } i
            ? DumpInput.Import(i, options, file is not null ? $"'{file}'" : $"QMP '{qmp}'", diagnostics, file is null or "-" ? null : file)
            : null;
        string[] lines = diagnostics.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (imported is not { } system)
        {
            string last = lines.LastOrDefault() ?? "cannot import the dump";
            throw CliError.Input(last.StartsWith("memspace: ", StringComparison.Ordinal) ? last["memspace: ".Length..] : last);
        }
        foreach (string line in lines)
        {
            error.WriteLine(line);
        }
        return Checked(system, options, file ?? "QMP '" + qmp + "'");
    }

    /// <summary>The imported graph, once every name given to an import option is known to match a region; else refused.</summary>
    private LoadedGraph Checked(MemorySystem system, MtreeImportOptions options, string what)
    {
        try
        {
            HashSet<string> names = RegionNames(system);
            foreach ((Option option, IReadOnlySet<string> given) in new (Option, IReadOnlySet<string>)[]
                     { (_terminating, options.Terminating), (_container, options.Containers), (_readOnly, options.ReadOnly), (_empty, options.Empty) })
            {
                if (given.FirstOrDefault(n => !names.Contains(n)) is { } unknown)
                {
                    throw CliError.Input($"{option.Name} '{unknown}' matches no region in {what}");
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
