namespace Memspace.Vcpus;

/// <summary>
/// What an accelerator provides for one vCPU (QEMU's <c>AccelOpsClass</c> for one <c>CPUState</c>):
/// running guest code until the next exit, kicking a running vCPU out, and its registers.
/// <see cref="Vcpu"/> adds serving exits and the run thread on top.
/// </summary>
public interface IVcpuBackend : IDisposable
{
    /// <summary>The vCPU's index (APIC id).</summary>
    int Index { get; }

    /// <summary>Runs guest code until something needs the VMM, and reports it. Called on the vCPU's thread only.</summary>
    PendingExit Run();

    /// <summary>Makes a <see cref="Run"/> in progress (or the next one) return soon with <see cref="VcpuExitKind.Interrupted"/>. Any thread.</summary>
    void Kick();

    /// <summary>Reads the general-purpose registers.</summary>
    X86Registers GetRegisters();

    /// <summary>Writes the general-purpose registers.</summary>
    /// <param name="registers">The registers.</param>
    void SetRegisters(in X86Registers registers);

    /// <summary>Reads the segment, descriptor-table and control registers.</summary>
    X86SystemRegisters GetSystemRegisters();

    /// <summary>Writes the segment, descriptor-table and control registers.</summary>
    /// <param name="registers">The registers.</param>
    void SetSystemRegisters(in X86SystemRegisters registers);
}
