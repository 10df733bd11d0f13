using System.CommandLine;
using System.Text;
using Memspace.Cli.Guest;
using Memspace.Core;
using Memspace.Json;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Printing;
using Memspace.Tracing;
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

    /// <summary>Longest --timeout accepted: one day.</summary>
    private const double MaxTimeoutSeconds = 86400;

    public static Command Create()
    {
        var firmware = new Option<FileInfo?>("--firmware") { Description = "Boot this BIOS image instead of the built-in guest (a multiple of 64 KiB, e.g. SeaBIOS's bios-256k.bin)." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to let the guest run before stopping it.", DefaultValueFactory = _ => 60 };
        var quiet = new Option<bool>("--no-timeline") { Description = "Leave out the timeline." };
        var json = JsonOption.Create();
        var full = new Option<bool>("--timeline") { Description = "Print every event of the timeline instead of the folded one." };
        var command = new Command("run", "Build a machine on KVM (default q35 with 512 MiB), boot the built-in guest and show the whole chain from regions to KVM slots and exits.")
        {
            firmware, timeout, quiet, full, json,
        };
        var source = new GraphSource();
        source.AddMachineOptionsTo(command);
        command.SetAction(parse =>
        {
            TextWriter o = parse.InvocationConfiguration.Output;
            double seconds = parse.GetValue(timeout);
            if (!double.IsFinite(seconds) || seconds <= 0 || seconds > MaxTimeoutSeconds)
            {
                throw CliError.Input($"bad --timeout {parse.GetResult(timeout)?.Tokens.FirstOrDefault()?.Value ?? seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}: give seconds, more than 0 and at most {MaxTimeoutSeconds}");
            }
            string name = source.MachineName(parse) ?? DefaultMachine;
            byte[] image;
            if (parse.GetValue(firmware) is { } file)
            {
                try
                {
                    image = File.ReadAllBytes(file.FullName);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw CliError.Input($"cannot read firmware '{file}': {e.Message}");
                }
            }
            else
            {
                image = DemoFirmware.Build(name == "microvm" ? 64 * 1024 : 256 * 1024);
            }
            var timeline = new ChainTimeline();
            using Machine machine = source.LoadMachine(parse, MachineAccelerator.KvmIfAvailable, timeline, image, defaultMachine: DefaultMachine);
            if (parse.GetValue(json))
            {
                var guestText = new StringWriter();
                string? jsonFailure = RunGuest(machine, guestText, TimeSpan.FromSeconds(seconds));
                JsonOption.Write(o, MemspaceJson.Run(machine, timeline.Events, RunJsonGuest.Outcome(machine, guestText.ToString(), jsonFailure is null ? 0 : 1)));
                return jsonFailure is null ? 0 : throw CliError.Runtime(jsonFailure);
            }
            o.WriteLine($"== {machine.Name} ({machine.Description}), {RamSize.Format(machine.Options.RamSize)} RAM, " +
                        (machine.Kvm!.RealVm is null ? "on a SIMULATED KVM VM" : "on KVM (/dev/kvm)"));
            string? failure = RunGuest(machine, o, TimeSpan.FromSeconds(seconds));
            o.WriteLine($"commits: {machine.System.CommitCount} topology commits took {machine.System.CommitTime.TotalMilliseconds:F2} ms in all " +
                        $"({(machine.System.Options.IncrementalRendering ? "incremental rendering" : "full render at every commit")})");
            IReadOnlyList<ChainEvent> events = timeline.Events;
            Section(o, "Summary: when were the KVM slots registered, and by what?");
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
            Section(o, "KVM slots (KVMSlot / kvm_userspace_memory_region)",
                "KVMSlot: what the kvm-memory listeners made of the RAM-backed MemoryRegionSections, each set by a kvm_userspace_memory_region ioctl; as 1 is \"KVM-SMRAM\".");
            KvmSlotTablePrinter.Print(machine.Kvm, o);
            if (SlotsCommand.NoSmmNote(machine) is { } note)
            {
                o.WriteLine($"note: {note}");
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
        if (machine.Kvm!.RealVm is null)
        {
            o.WriteLine($"guest: not run: {machine.KvmUnavailableReason ?? "no KVM VM"}.");
            o.WriteLine("       Everything else below is real: the board, the RAM blocks in host memory, and the slot ioctls a simulated VM checked and recorded.");
            return null;
        }
        var x86 = (X86Machine)machine;
        var line = new StringBuilder();
        if (x86.Serial is { } serial)
        {
            serial.Transmitted += b =>
            {
                lock (line)
                {
                    if (b == '\n')
                    {
                        o.WriteLine("guest| " + line.ToString().TrimEnd('\r'));
                        line.Clear();
                    }
                    else
                    {
                        line.Append((char)b);
                    }
                }
            };
        }
        Vcpu vcpu;
        try
        {
            vcpu = machine.CreateVcpu();
        }
        catch (MemspaceException e)
        {
            o.WriteLine($"guest: could not create the vCPU: {e.Message}");
            return $"could not create the vCPU: {e.Message}";
        }
        using var owned = vcpu;
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
        return stop.Reason == VcpuStopReason.Halted ? null : $"the guest stopped: {stop.Reason}: {stop.Detail}";
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
