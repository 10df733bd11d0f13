using Memspace.Machines;

namespace Memspace.Migration;

/// <summary>A restored machine, its vCPUs (running), and how long each step of the restore took.</summary>
/// <param name="Machine">The machine, which the caller now owns.</param>
/// <param name="Vcpus">Its vCPUs, running.</param>
/// <param name="Steps">Each step and its time, in order.</param>
/// <param name="Total">From the call to the guest running.</param>
public sealed record SnapshotRestoreResult(Machine Machine, IVcpuTransfer Vcpus, IReadOnlyList<(string Step, TimeSpan Time)> Steps, TimeSpan Total)
{
    /// <inheritdoc/>
    public override string ToString()
        => $"restore: running after {Total.TotalMilliseconds:F1} ms (" + string.Join(", ", Steps.Select(s => $"{s.Step} {s.Time.TotalMilliseconds:F1}")) + ")";
}
