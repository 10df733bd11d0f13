using Memspace.Core;
using Memspace.Machines;
using Memspace.Vcpus;

namespace Memspace.Cli.Guest;

/// <summary>Creating the vCPU a built-in guest runs on, with the one line <c>run</c> prints when that fails.</summary>
internal static class GuestVcpu
{
    /// <summary>Creates vCPU 0 of <paramref name="machine"/>; on failure prints why and returns null with <paramref name="failure"/> set.</summary>
    /// <param name="machine">The machine.</param>
    /// <param name="o">Where the failure line goes.</param>
    /// <param name="failure">Why no vCPU was created, or null.</param>
    public static Vcpu? TryCreate(Machine machine, TextWriter o, out string? failure)
    {
        try
        {
            failure = null;
            return machine.CreateVcpu();
        }
        catch (MemspaceException e)
        {
            o.WriteLine($"guest: could not create the vCPU: {e.Message}");
            failure = $"could not create the vCPU: {e.Message}";
            return null;
        }
    }
}
