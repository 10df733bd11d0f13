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

    private readonly Option<bool> _fullRender = new("--full-render")
    {
        Description = "Render every view from the whole region graph at every commit, as QEMU does, instead of incrementally (for comparison).",
    };

    private readonly Option<FileInfo?> _import = new("--import")
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
        command.Options.Add(_accel);
        command.Options.Add(_fullRender);
    }

    /// <summary>The --import option (for commands that name the dump).</summary>
    public Option<FileInfo?> ImportOption => _import;

    /// <summary>Why --accel auto chose what it chose, when that is not KVM; set by <see cref="LoadMachine"/>.</summary>
    public string? AcceleratorNote { get; private set; }

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

    /// <summary>Builds the machine named by --machine, or writes why not to standard error and returns null.</summary>
    /// <param name="parse">The command line.</param>
    /// <param name="accelerator">Where slot ioctls go with <c>--accel kvm</c>.</param>
    /// <param name="timeline">Receives the chain of events while the machine is built, or null.</param>
    /// <param name="firmware">Firmware image, or null for the machine's default.</param>
    /// <param name="defaultMachine">Machine to build when --machine is absent, or null to require it.</param>
    /// <param name="defaultAccel">The --accel value when it is absent.</param>
    public Machine? LoadMachine(ParseResult parse, MachineAccelerator accelerator, Tracing.ChainTimeline? timeline = null, byte[]? firmware = null, string? defaultMachine = null, string defaultAccel = "kvm")
    {
        TextWriter error = parse.InvocationConfiguration.Error;
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
        string? name = parse.GetValue(_machine) ?? defaultMachine;
        if (name is null)
        {
            error.WriteLine($"memspace: --machine is required ({string.Join(", ", Machine.Names)})");
            return null;
        }
        if (!Machine.Names.Contains(name))
        {
            error.WriteLine($"memspace: unknown machine '{name}'; Memspace builds {string.Join(", ", Machine.Names)}");
            return null;
        }
        string sizeText = parse.GetValue(_memory) ?? "512M";
        if (!RamSize.TryParse(sizeText, out ulong size, out string? why))
        {
            error.WriteLine($"memspace: bad -m size: {why}");
            return null;
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
                MemoryOptions = parse.GetValue(_fullRender) ? new MemorySystemOptions { IncrementalRendering = false } : null,
            });
        }
        catch (MachineConfigurationException e) when (e.Option == nameof(MachineOptions.RamSize))
        {
            error.WriteLine($"memspace: bad -m size: '{sizeText}': {e.Message}");
            return null;
        }
        catch (UnicornUnavailableException e)
        {
            error.WriteLine($"memspace: cannot use --accel unicorn: {e.Message}");
            return null;
        }
        catch (Exception e) when (e is ArgumentException or Core.MemspaceException)
        {
            error.WriteLine($"memspace: cannot build machine '{name}': {e.Message}");
            return null;
        }
    }

    /// <summary>Builds the graph, or writes why not to standard error and returns null.</summary>
    public LoadedGraph? Load(ParseResult parse)
    {
        if (parse.GetValue(_machine) is not null)
        {
            if (parse.GetValue(_import) is not null)
            {
                parse.InvocationConfiguration.Error.WriteLine("memspace: use either --machine or --import, not both");
                return null;
            }
            return LoadMachine(parse, MachineAccelerator.Simulated) is { } m ? new LoadedGraph(m.System, m) : null;
        }
        if (parse.GetValue(_import) is not { } file)
        {
            return new LoadedGraph(ExampleGraph.Build(), null);
        }
        var options = new MtreeImportOptions
        {
            Terminating = Set(parse.GetValue(_terminating)),
            Containers = Set(parse.GetValue(_container)),
            ReadOnly = Set(parse.GetValue(_readOnly)),
            Empty = Set(parse.GetValue(_empty)),
        };
        try
        {
            return new LoadedGraph(MtreeImporter.ImportFile(file.FullName, options), null);
        }
        catch (Exception e) when (e is MtreeImportException or IOException or UnauthorizedAccessException)
        {
            parse.InvocationConfiguration.Error.WriteLine($"memspace: cannot import '{file}': {e.Message}");
            return null;
        }
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
