namespace Memspace.Json;

/// <summary>How a guest run ended, for <see cref="MemspaceJson.Run"/>.</summary>
/// <param name="Ran">Whether the guest ran at all (false without KVM).</param>
/// <param name="Stop">Why it stopped (a <c>VcpuStopReason</c> name), or null.</param>
/// <param name="Detail">A description of the stop or of why it did not run.</param>
/// <param name="ExitCode">The exit code the command returns for it.</param>
/// <param name="Serial">What the guest wrote to its serial port.</param>
public sealed record GuestOutcome(bool Ran, string? Stop, string? Detail, int ExitCode, string Serial);
