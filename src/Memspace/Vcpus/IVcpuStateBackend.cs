namespace Memspace.Vcpus;

/// <summary>
/// A vCPU backend that can save everything the guest can observe of its vCPU and load it back into
/// the same or another vCPU of an identically built machine (QEMU's <c>kvm_arch_get_registers</c> /
/// <c>kvm_arch_put_registers</c> at full level). Called only while the vCPU is not running;
/// <see cref="Vcpu.SaveState"/> and <see cref="Vcpu.LoadState"/> enforce that.
/// </summary>
public interface IVcpuStateBackend
{
    /// <summary>Saves the vCPU's complete state, first completing any port I/O or MMIO the last exit left pending.</summary>
    VcpuState SaveState();

    /// <summary>
    /// Loads a state <see cref="SaveState"/> produced, in the order the accelerator needs. The parts'
    /// presence and sizes are checked before anything is changed; a value the accelerator itself then
    /// refuses (a KVM ioctl failing) leaves the vCPU partly loaded, and the exception names the part.
    /// </summary>
    /// <param name="state">The state.</param>
    /// <exception cref="VcpuStateException">A part is missing, has the wrong size, or the accelerator refuses its values.</exception>
    void LoadState(VcpuState state);

    /// <summary>
    /// Registers the accelerator lists but that could not be saved (for KVM: MSR indices from
    /// <c>KVM_GET_MSR_INDEX_LIST</c> that do not read back), as "MSR 0x...". They are left out of the
    /// state rather than failing the save.
    /// </summary>
    IReadOnlyList<string> SkippedRegisters { get; }
}
