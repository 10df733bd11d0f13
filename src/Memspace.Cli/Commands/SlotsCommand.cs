using System.CommandLine;
using Memspace.Json;
using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Printing;
using Memspace.Unicorn;

namespace Memspace.Cli.Commands;

/// <summary>
/// <c>memspace slots --machine NAME -m SIZE</c>: builds the machine on KVM and prints every
/// <c>KVM_SET_USER_MEMORY_REGION</c> in QEMU 7.2's <c>-trace kvm_set_user_memory</c> format; without
/// <c>/dev/kvm</c> it says so on standard error and prints what it would set.
/// </summary>
internal static class SlotsCommand
{
    public static Command Create()
    {
        var table = new Option<bool>("--table") { Description = "Print the final slot table instead of the ioctl trace." };
        var simulate = new Option<bool>("--simulate") { Description = "Do not use /dev/kvm even if it is there." };
        var json = JsonOption.Create();
        var command = new Command("slots", "Build a machine on KVM and print every slot ioctl in QEMU 7.2's kvm_set_user_memory trace format.")
        {
            table, simulate, json,
        };
        var source = new GraphSource();
        source.AddMachineOptionsTo(command);
        command.SetAction(parse =>
        {
            MachineAccelerator accel = parse.GetValue(simulate) ? MachineAccelerator.Simulated : MachineAccelerator.KvmIfAvailable;
            using Machine machine = source.LoadMachine(parse, accel);
            TextWriter output = parse.InvocationConfiguration.Output;
            if (source.Firmware(parse) is not null && machine.Kvm!.RealVm is not null)
            {
                FirmwareRunner.Boot(machine, parse.InvocationConfiguration.Error, source.Timeout(parse), line: null);
            }
            if (machine.Unicorn is { } unicorn)
            {
                // Unicorn has no KVM slots: its listener's map changes are the counterpart.
                foreach (string line in parse.GetValue(table) ? unicorn.Mappings.Select(m => m.ToString()) : unicorn.Trace.Select(e => e.ToString()))
                {
                    output.WriteLine(line);
                }
                return 0;
            }
            KvmAccelerator kvm = machine.Kvm!;
            if (kvm.RealVm is null)
            {
                parse.InvocationConfiguration.Error.WriteLine(
                    $"memspace: {(machine.KvmUnavailableReason is { } why ? "no KVM here: " + why : "--simulate")}; printing what Memspace would set on a simulated VM");
            }
            if (NoSmmNote(machine) is { } note)
            {
                parse.InvocationConfiguration.Error.WriteLine($"memspace: {note}");
            }
            if (parse.GetValue(json))
            {
                JsonOption.Write(output, MemspaceJson.Slots(kvm, kvm.RealVm is null ? machine.KvmUnavailableReason ?? "--simulate" : null));
            }
            else if (parse.GetValue(table))
            {
                KvmSlotTablePrinter.Print(kvm, output);
                if (NoSmmNote(machine) is { } under)
                {
                    output.WriteLine($"note: {under}");
                }
            }
            else
            {
                foreach (KvmSlotEvent e in kvm.Trace)
                {
                    output.WriteLine(e);
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Why the slot table has no SMM address space although the machine has SMM: the VM offers one
    /// memory address space only (no <c>KVM_CAP_MULTI_ADDRESS_SPACE</c>), so, as QEMU does, no
    /// "kvm-smram" listener was registered. Null when there is nothing to say.
    /// </summary>
    internal static string? NoSmmNote(Machine machine)
        => machine.Options.Smm && machine.Kvm is { } kvm && kvm.SmramListener is null && kvm.Vm.AddressSpaces < 2 && machine is X86Machine
            ? $"this KVM has {kvm.Vm.AddressSpaces} memory address space (no KVM_CAP_MULTI_ADDRESS_SPACE): no SMM slots (KVM address space 1, \"kvm-smram\") are set, and SMRAM is not mapped for the guest"
            : null;
}
