using System.CommandLine;
using System.Text;
using Memspace.Cli.Guest;
using Memspace.Core;
using Memspace.Json;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Machines.Guests;
using Memspace.Printing;
using Memspace.Tracing;
using Memspace.Unicorn;
using Memspace.Vcpus;

namespace Memspace.Cli.Commands;

/// <summary>
/// <c>memspace run</c>, the main job: creates the VM, registers the KVM listeners, builds the board,
/// boots the built-in guest (RAM, ROM, port I/O, MMIO and a PAM change of its own), then shows the
/// chain: region tree, flat views, RAMBlocks, KVM slots, and the timeline of everything that happened,
/// each step tagged with its structure. Without <c>/dev/kvm</c> it does everything but the guest and
/// says why.
/// </summary>
internal static class RunCommand
{
    /// <summary>The machine <c>memspace run</c> builds without --machine.</summary>
    private const string DefaultMachine = "q35";

    public static Command Create()
    {
        var quiet = new Option<bool>("--no-timeline") { Description = "Leave out the timeline." };
        var json = JsonOption.Create();
        var full = new Option<bool>("--timeline") { Description = "Print every event of the timeline instead of the folded one." };
        var guest = new Option<string>("--guest")
        {
            Description = "The built-in guest: 'demo' (every kind of memory, then halt) or 'dirty' (keeps writing a pattern over RAM at a set rate, then verifies it).",
            DefaultValueFactory = _ => "demo",
        };
        guest.AcceptOnlyFromAmong("demo", "dirty");
        var dirtySize = new Option<string>("--dirty-size")
        {
            Description = "With --guest dirty: how much RAM it writes (K, M, G suffixes; a plain number is MiB).",
            DefaultValueFactory = _ => "64M",
        };
        var dirtyRate = new Option<double>("--dirty-rate")
        {
            Description = "With --guest dirty: pages (4 KiB) per second it may write; 0 for as fast as it can.",
            DefaultValueFactory = _ => 0,
        };
        var runFor = new Option<double>("--run-for")
        {
            Description = "With --guest dirty: seconds to let it write before stopping and verifying.",
            DefaultValueFactory = _ => 5,
        };
        var command = new Command("run", "Build a machine on KVM or Unicorn (default q35 with 512 MiB), boot the built-in guest and show the whole chain from regions to KVM slots (or Unicorn mappings) and exits.")
        {
            quiet, full, json, guest, dirtySize, dirtyRate, runFor,
        };
        var source = new GraphSource();
        source.AddMachineOptionsTo(command);
        var migration = new MigrationRun();
        migration.AddTo(command);
        command.SetAction(parse =>
        {
            TextWriter o = parse.InvocationConfiguration.Output;

            double seconds = source.Timeout(parse).TotalSeconds;
            string name = source.MachineName(parse) ?? DefaultMachine;
            TimeSpan limit = TimeSpan.FromSeconds(seconds);
            string? firmwareArgument = source.Firmware(parse);
            int firmwareSize = name == "microvm" ? 64 * 1024 : 256 * 1024;
            byte[]? image = firmwareArgument is null ? DemoFirmware.Build(firmwareSize) : null;
            Func<Machine, TextWriter, string?> runGuest = (m, w) => RunGuest(m, w, limit);
            if (parse.GetValue(guest) == "dirty")
            {
                if (firmwareArgument is not null)
                {
                    throw CliError.Input("--guest dirty is a firmware of its own; leave out --firmware");
                }
                if (!RamSize.TryParse(parse.GetValue(dirtySize), out ulong region, out string? why))
                {
                    throw CliError.Input($"bad --dirty-size: {why}");
                }
                if (region == 0 || region % DirtyGuestLayout.PageSize != 0 || region > DirtyGuest.MaxRegionBytes)
                {
                    throw CliError.Input($"bad --dirty-size {RamSize.Format(region)}: a non-zero multiple of 4 KiB up to {RamSize.Format(DirtyGuest.MaxRegionBytes)}");
                }
                double rate = parse.GetValue(dirtyRate);
                if (!double.IsFinite(rate) || rate < 0)
                {
                    throw CliError.Input($"bad --dirty-rate {rate}: pages per second, 0 for unpaced");
                }
                double forSeconds = parse.GetValue(runFor);
                if (!double.IsFinite(forSeconds) || forSeconds <= 0 || forSeconds > 86400)
                {
                    throw CliError.Input($"bad --run-for {forSeconds}: seconds, more than 0");
                }
                image = DirtyGuest.Build(region, firmwareSize);
                if (migration.Requested(parse))
                {
                    return migration.Run(parse, source, o, new MigrationRun.DirtyGuestSpec(region, rate, TimeSpan.FromSeconds(forSeconds)));
                }
                runGuest = (m, w) =>
                {
                    if (m.Options.RamSize < DirtyGuestLayout.RequiredRam(region))
                    {
                        throw CliError.Input($"-m {RamSize.Format(m.Options.RamSize)} is too small for --dirty-size {RamSize.Format(region)}: at least {RamSize.Format(DirtyGuestLayout.RequiredRam(region))}");
                    }
                    return DirtyGuestRunner.Run(m, w, region, rate, TimeSpan.FromSeconds(forSeconds));
                };
            }
            if (migration.Requested(parse))
            {
                return migration.Run(parse, source, o, null);
            }
            var timeline = new ChainTimeline();
            using Machine machine = source.LoadMachine(parse, MachineAccelerator.KvmIfAvailable, timeline, image, defaultMachine: DefaultMachine, kernelIrqchip: false, defaultAccel: "auto");
            if (parse.GetValue(json))
            {
                var guestText = new StringWriter();
                string? jsonFailure = firmwareArgument is null ? runGuest(machine, guestText) : RunFirmware(machine, guestText, limit);
                JsonOption.Write(o, MemspaceJson.Run(machine, timeline.Events, RunJsonGuest.Outcome(machine, guestText.ToString(), jsonFailure is null ? 0 : 1)));
                return jsonFailure is null ? 0 : throw CliError.Runtime(jsonFailure);
            }
            o.WriteLine($"== {machine.Name} ({machine.Description}), {RamSize.Format(machine.Options.RamSize)} RAM, " +
                        (machine.Unicorn is not null ? "on Unicorn (libunicorn2, QEMU's TCG as a library)"
                            : machine.Kvm!.RealVm is null ? "on a SIMULATED KVM VM" : "on KVM (/dev/kvm)"));
            if (source.AcceleratorNote is { } accelNote)
            {
                o.WriteLine($"   ({accelNote})");
            }
            string? failure = firmwareArgument is null ? runGuest(machine, o) : RunFirmware(machine, o, limit);
            o.WriteLine($"commits: {machine.System.CommitCount} topology commits took {machine.System.CommitTime.TotalMilliseconds:F2} ms in all " +
                        $"({(machine.System.Options.IncrementalRendering ? "incremental rendering" : "full render at every commit")})");
            IReadOnlyList<ChainEvent> events = timeline.Events;
            Section(o, machine.Unicorn is null ? "Summary: when were the KVM slots registered, and by what?" : "Summary: when were the Unicorn mappings (its KVM slots) made, and by what?");
            foreach (string line in ChainSummary.Of(events).Describe())
            {
                o.WriteLine(line.StartsWith(' ') ? "    " + line : "  - " + line);
            }
            Section(o, "Region tree (info mtree)",
                "MemoryRegion: the regions the board built, one tree per AddressSpace root; '@' marks an alias, a window onto another region.");
            MtreePrinter.Print(machine.System, o);
            Section(o, "Flat views (info mtree -f)",
                "FlatView: each AddressSpace's tree rendered into non-overlapping FlatRanges (spaces with the same root share one); KVM marks a range with a slot.");
            FlatViewPrinter.Print(machine.System, o, false);
            Section(o, "RAMList (info ramblock)",
                "RAMList: the RAMBlocks that hold RAM and ROM in host memory, placed in ram_addr space; a RAM FlatRange points into one.");
            RamBlockPrinter.Print(machine.System.RamList, o);
            if (machine.Unicorn is { } unicorn)
            {
                Section(o, "Unicorn memory map (uc_mem_map_ptr / uc_mmio_map)",
                    "What the unicorn-memory listener made of the MemoryRegionSections: RAM and ROM mapped to their RAMBlocks' host memory, every other touched page a window dispatched through the address space.");
                foreach (UnicornMapping m in unicorn.Mappings)
                {
                    o.WriteLine("  " + m);
                }
            }
            else
            {
                Section(o, "KVM slots (KVMSlot / kvm_userspace_memory_region)",
                    "KVMSlot: what the kvm-memory listeners made of the RAM-backed MemoryRegionSections, each set by a kvm_userspace_memory_region ioctl; as 1 is \"KVM-SMRAM\".");
                KvmSlotTablePrinter.Print(machine.Kvm!, o);
                if (SlotsCommand.NoSmmNote(machine) is { } note)
                {
                    o.WriteLine($"note: {note}");
                }
            }
            if (parse.GetValue(full))
            {
                Section(o, $"Timeline ({events.Count} events)", TimelineNote);
                foreach (ChainEvent e in events)
                {
                    o.WriteLine(e);
                }
            }
            else if (!parse.GetValue(quiet))
            {
                IReadOnlyList<FoldedEvent> folded = TimelineFolder.Fold(events);
                Section(o, $"Timeline ({events.Count} events folded into {folded.Count} lines; --timeline prints each)", TimelineNote);
                foreach (FoldedEvent line in folded)
                {
                    o.WriteLine(line);
                }
            }
            return failure is null ? 0 : throw CliError.Runtime(failure);
        });
        return command;
    }

    /// <summary>Runs the guest; returns null when it halted (or KVM is missing), or what went wrong.</summary>
    private static string? RunGuest(Machine machine, TextWriter o, TimeSpan timeout)
    {
        if (!machine.CanRunGuest)
        {
            o.WriteLine($"guest: not run: {machine.KvmUnavailableReason ?? "no KVM VM"}; install libunicorn2 (apt-get install libunicorn2) to run it on Unicorn.");
            o.WriteLine("       Everything else below is real: the board, the RAM blocks in host memory, and the slot ioctls a simulated VM checked and recorded.");
            return null;
        }
        var x86 = (X86Machine)machine;
        var line = new StringBuilder();
        var clock = new System.Diagnostics.Stopwatch();
        TimeSpan? done = null;
        if (x86.Serial is { } serial)
        {
            serial.Transmitted += b =>
            {
                lock (line)
                {
                    if (b == '\n')
                    {
                        string text = line.ToString().TrimEnd('\r');
                        if (text == DemoFirmware.DoneLine)
                        {
                            done ??= clock.Elapsed;
                        }
                        o.WriteLine("guest| " + text);
                        line.Clear();
                    }
                    else
                    {
                        line.Append((char)b);
                    }
                }
            };
        }
        if (GuestVcpu.TryCreate(machine, o, out string? failure) is not { } vcpu)
        {
            return failure;
        }
        using var owned = vcpu;
        clock.Start();
        vcpu.Start();
        VcpuStop? stop = vcpu.Join(timeout);
        if (stop is null)
        {
            vcpu.Stop();
            stop = vcpu.Join(TimeSpan.FromSeconds(10));
            o.WriteLine($"guest: stopped after {timeout.TotalSeconds:0} s without halting");
            return $"the guest did not halt within {timeout.TotalSeconds:0} s";
        }
        lock (line)
        {
            if (line.Length > 0)
            {
                o.WriteLine("guest| " + line);
            }
        }
        o.WriteLine($"guest: {stop.Reason}: {stop.Detail}");
        if (done is { } d)
        {
            o.WriteLine($"guest: printed its done line {d.TotalMilliseconds:F2} ms after the vCPU started");
        }
        return stop.Reason == VcpuStopReason.Halted ? null : $"the guest stopped: {stop.Reason}: {stop.Detail}";
    }

    /// <summary>Boots --firmware, streaming its debug console as "firmware| ..." lines; null when it reached its end (or could not run), or what went wrong.</summary>
    private static string? RunFirmware(Machine machine, TextWriter o, TimeSpan timeout)
    {
        if (machine.Unicorn is not null)
        {
            o.WriteLine("firmware: not run: booting --firmware on Unicorn is not supported yet (use --accel kvm on a machine with /dev/kvm).");
            o.WriteLine("          Everything else below is the machine at reset.");
            return null;
        }
        if (machine.Kvm!.RealVm is null)
        {
            o.WriteLine($"firmware: not run: {machine.KvmUnavailableReason ?? "no KVM VM"}.");
            o.WriteLine("          Everything else below is the machine at reset, with the slot ioctls a simulated VM checked and recorded.");
            return null;
        }
        Machines.Firmware.FirmwareBootResult? r = FirmwareRunner.Boot(machine, o, timeout, line =>
        {
            lock (o)
            {
                o.WriteLine("firmware| " + line);
            }
        });
        return r is { ReachedEnd: true } ? null : "the firmware did not reach its end (\"No bootable device\") before it stopped or --timeout passed";
    }

    private const string TimelineNote =
        "Every step in order, tagged with its structure: MemoryRegion changes, MemoryRegionSection callbacks, FlatView commits, RAMBlock placement, KVM slot ioctls and the guest's vCPU exits.";

    private static void Section(TextWriter o, string title, string? note = null)
    {
        o.WriteLine();
        o.WriteLine($"== {title}");
        if (note is not null)
        {
            o.WriteLine("   " + note);
        }
    }
}
