namespace Memspace.Vcpus;

/// <summary>Serves one exit through the address spaces and reports it, as <see cref="Vcpu"/> does after a <see cref="IVcpuBackend.Run"/>.</summary>
/// <param name="exit">The exit; a read's answer is written to its <see cref="PendingExit.Data"/>.</param>
public delegate VcpuExit InlineExitHandler(in PendingExit exit);

/// <summary>
/// A vCPU backend that serves port I/O and MMIO while guest code runs (an emulator calls back from
/// inside its run loop, as Unicorn does) rather than returning them from <see cref="IVcpuBackend.Run"/>
/// as KVM does. <see cref="Vcpu"/> gives it a handler that serves each exit exactly as it serves a
/// returned one (<see cref="ExitServer"/>, then <see cref="Vcpu.Exited"/>), so both look the same to
/// observers; <see cref="IVcpuBackend.Run"/> then returns only what stops the guest.
/// </summary>
public interface IInlineExitBackend
{
    /// <summary>Sets the handler the backend calls, on the vCPU thread, for each port I/O or MMIO access.</summary>
    /// <param name="handler">The handler.</param>
    void SetExitHandler(InlineExitHandler handler);
}
