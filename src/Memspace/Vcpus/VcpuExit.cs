using Memspace.Core;

namespace Memspace.Vcpus;

/// <summary>What made a vCPU stop running guest code (for KVM: why <c>KVM_RUN</c> returned).</summary>
public enum VcpuExitKind
{
    /// <summary>Port I/O, served by the I/O address space.</summary>
    Io,

    /// <summary>MMIO, served by the memory address space.</summary>
    Mmio,

    /// <summary>The guest executed HLT (only exits without the in-kernel irqchip).</summary>
    Halt,

    /// <summary>Triple fault or shutdown.</summary>
    Shutdown,

    /// <summary>The hardware refused to enter the guest.</summary>
    FailEntry,

    /// <summary>The accelerator could not handle something (under PVM: an instruction its emulator lacks).</summary>
    InternalError,

    /// <summary>A system event (shutdown, reset, crash).</summary>
    SystemEvent,

    /// <summary>The run was interrupted (a kick or a signal); nothing to serve.</summary>
    Interrupted,

    /// <summary>An exit Memspace does not handle, or one whose data made no sense.</summary>
    Unhandled,

    /// <summary>Running the vCPU failed (<c>KVM_RUN</c> returned an error).</summary>
    Failed,
}

/// <summary>One exit and how it was served.</summary>
/// <param name="Kind">The exit.</param>
/// <param name="Address">Port or guest-physical address (I/O, MMIO); instruction pointer for internal errors.</param>
/// <param name="Size">Access width in bytes.</param>
/// <param name="Count">Repetitions (string port I/O).</param>
/// <param name="IsWrite">Whether the guest wrote (OUT, store).</param>
/// <param name="Data">The first item's bytes, little-endian (written, or read back).</param>
/// <param name="Result">What the address space answered.</param>
/// <param name="Detail">A description for exits that end the run or could not be served.</param>
public readonly record struct VcpuExit(
    VcpuExitKind Kind, ulong Address = 0, uint Size = 0, uint Count = 0, bool IsWrite = false, ulong Data = 0,
    MemTxResult Result = MemTxResult.Ok, string? Detail = null)
{
    /// <summary>Why the run loop ends after this exit, or null when the guest goes on.</summary>
    public VcpuStopReason? StopReason => Kind switch
    {
        VcpuExitKind.Halt => VcpuStopReason.Halted,
        VcpuExitKind.Shutdown => VcpuStopReason.Shutdown,
        VcpuExitKind.FailEntry => VcpuStopReason.FailEntry,
        VcpuExitKind.InternalError => VcpuStopReason.InternalError,
        VcpuExitKind.SystemEvent => VcpuStopReason.SystemEvent,
        VcpuExitKind.Unhandled or VcpuExitKind.Failed => VcpuStopReason.Unhandled,
        _ => null,
    };

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        VcpuExitKind.Io => $"KVM_EXIT_IO {(IsWrite ? "out" : "in")} port 0x{Address:x} size {Size}{(Count > 1 ? $" x{Count}" : "")} data 0x{Data:x} -> {Result}",
        VcpuExitKind.Mmio => $"KVM_EXIT_MMIO {(IsWrite ? "write" : "read")} 0x{Address:x} len {Size} data 0x{Data:x} -> {Result}",
        _ => $"{Kind}{(Detail is null ? "" : ": " + Detail)}",
    };
}
