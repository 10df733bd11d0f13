namespace Memspace.Vcpus;

/// <summary>Why a vCPU's run loop ended.</summary>
public enum VcpuStopReason
{
    /// <summary>The guest executed HLT.</summary>
    Halted,

    /// <summary>Triple fault or shutdown.</summary>
    Shutdown,

    /// <summary>Entry failure.</summary>
    FailEntry,

    /// <summary>Internal error of the accelerator (for example an emulation failure under PVM).</summary>
    InternalError,

    /// <summary>System event (shutdown, reset, crash).</summary>
    SystemEvent,

    /// <summary>An exit Memspace does not handle, or a failed run.</summary>
    Unhandled,

    /// <summary><see cref="Vcpu.Stop"/> was called.</summary>
    Stopped,
}

/// <summary>The end of a run.</summary>
/// <param name="Reason">Why it ended.</param>
/// <param name="Detail">A readable description.</param>
public sealed record VcpuStop(VcpuStopReason Reason, string Detail);
