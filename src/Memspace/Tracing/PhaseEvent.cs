namespace Memspace.Tracing;

/// <summary>A machine entered a new step of its life (<see cref="MachinePhase"/>).</summary>
/// <param name="Phase">The step.</param>
/// <param name="Text">What happens in it, in QEMU's terms.</param>
public sealed record PhaseEvent(MachinePhase Phase, string Text) : ChainPayload
{
    /// <inheritdoc/>
    public override string Describe() => Text;

    /// <summary>How the summary names the phase ("board init", "reset", ...).</summary>
    /// <param name="phase">The phase.</param>
    public static string Name(MachinePhase phase) => phase switch
    {
        MachinePhase.MemoryMapInit => "memory map init",
        MachinePhase.AcceleratorInit => "accelerator init",
        MachinePhase.BoardInit => "board init",
        MachinePhase.MachineInitDone => "machine init done",
        MachinePhase.Reset => "reset",
        MachinePhase.GuestStart => "guest",
        _ => phase.ToString(),
    };
}
