using Memspace.Core;
using Memspace.Machines;
using Memspace.Machines.Firmware;
using Memspace.Vcpus;

namespace Memspace.Cli.Commands;

/// <summary>Boots <c>--firmware</c> on a built machine for the commands that show the state after it.</summary>
internal static class FirmwareRunner
{
    /// <summary>
    /// Runs the firmware on vCPU 0 until it settles and reports how it ended on <paramref name="log"/>;
    /// returns null (after saying why) when the machine has no accelerator that can run a guest.
    /// </summary>
    public static FirmwareBootResult? Boot(Machine machine, TextWriter log, TimeSpan timeout, Action<string>? line)
    {
        if (machine is not X86Machine x86 || x86.Platform is null)
        {
            log.WriteLine($"memspace: --firmware needs pc or q35 with its platform devices; {machine.Name} has none");
            return null;
        }
        if (machine.Kvm?.RealVm is null)
        {
            log.WriteLine($"memspace: firmware not run: {machine.KvmUnavailableReason ?? "no KVM VM"}; showing the machine at reset");
            return null;
        }
        Vcpu vcpu;
        try
        {
            vcpu = machine.CreateVcpu();
        }
        catch (MemspaceException e)
        {
            log.WriteLine($"memspace: firmware not run: could not create the vCPU: {e.Message}");
            return null;
        }
        using (vcpu)
        {
            FirmwareBootResult r = FirmwareBoot.Run(x86, vcpu, timeout, line);
            log.WriteLine($"memspace: firmware {(r.ReachedEnd ? "reached \"" + FirmwareBoot.EndMarker + "\"" : "ended: " + r.Outcome)} after {r.Elapsed.TotalSeconds:0.00} s ({r.Detail})");
            return r;
        }
    }
}
