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
    public TimeSpan Timeout(ParseResult parse) => TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(_timeout), 0, 86400));

    /// <summary>Why --accel auto chose what it chose, when that is not KVM; set by <see cref="LoadMachine"/>.</summary>
    public string? AcceleratorNote { get; private set; }

    /// <summary>The machine name given, or null.</summary>
    public string? MachineName(ParseResult parse) => parse.GetValue(_machine);

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

    /// <summary>Builds the machine named by --machine, or writes why not to standard error and returns null.</summary>
    /// <param name="parse">The command line.</param>
    /// <param name="accelerator">Where slot ioctls go with <c>--accel kvm</c>.</param>
    /// <param name="timeline">Receives the chain of events while the machine is built, or null.</param>
    /// <param name="firmware">Firmware image, or null for the machine's default.</param>
    /// <param name="defaultMachine">Machine to build when --machine is absent, or null to require it.</param>
    /// <param name="kernelIrqchip">Whether the board uses KVM's in-kernel irqchip (default: yes, as QEMU); the built-in guest needs HLT to exit, so <c>run</c> turns it off.</param>
    /// <param name="defaultAccel">The --accel value when it is absent.</param>
    public Machine? LoadMachine(ParseResult parse, MachineAccelerator accelerator, Tracing.ChainTimeline? timeline = null, byte[]? firmware = null, string? defaultMachine = null, bool kernelIrqchip = true, string defaultAccel = "kvm")
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
        string? firmwareArgument = parse.GetValue(_firmware);
        if (firmware is null && firmwareArgument is not null)
        {
            firmware = Machines.Firmware.SeaBios.Load(firmwareArgument, out string? bad);
            if (firmware is null)
            {
                error.WriteLine($"memspace: {bad}");
                return null;
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
            if (parse.GetValue(_import) is not null || parse.GetValue(_qmp) is not null)
            {
                parse.InvocationConfiguration.Error.WriteLine("memspace: use either --machine or --import/--qmp, not both");
                return null;
            }
            bool boot = parse.GetValue(_firmware) is not null;
            if (LoadMachine(parse, boot ? MachineAccelerator.KvmIfAvailable : MachineAccelerator.Simulated) is not { } m)
            {
                return null;
            }
            if (boot)
            {
                FirmwareRunner.Boot(m, parse.InvocationConfiguration.Error, Timeout(parse), line: null);
            }
            return new LoadedGraph(m.System, m);
        }
        string? file = parse.GetValue(_import);
        string? qmp = parse.GetValue(_qmp);
        if (file is null && qmp is null)
        {
            return new LoadedGraph(ExampleGraph.Build(), null);
        }
        TextWriter error = parse.InvocationConfiguration.Error;
        if (file is not null && qmp is not null)
        {
            error.WriteLine("memspace: use either --import or --qmp, not both");
            return null;
        }
        var options = new MtreeImportOptions
        {
            Terminating = Set(parse.GetValue(_terminating)),
            Containers = Set(parse.GetValue(_container)),
            ReadOnly = Set(parse.GetValue(_readOnly)),
            Empty = Set(parse.GetValue(_empty)),
        };
        (string, string?)? input = file is not null ? DumpInput.ReadFile(file, error) : DumpInput.Query(qmp!, error);
        return input is { } i && DumpInput.Import(i, options, file is not null ? $"'{file}'" : $"QMP '{qmp}'", error, file is null or "-" ? null : file) is { } system
            ? new LoadedGraph(system, null)
            : null;
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
