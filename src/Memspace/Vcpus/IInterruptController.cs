namespace Memspace.Vcpus;

/// <summary>
/// An interrupt controller in userspace, as a vCPU without an in-kernel irqchip sees it: the INTR line,
/// the acknowledge cycle that turns it into a vector, and a signal when the line may have risen.
/// </summary>
public interface IInterruptController
{
    /// <summary>Whether INTR is asserted (an unmasked request of higher priority than any in service).</summary>
    bool InterruptPending { get; }

    /// <summary>Whether something (a running timer) can still raise an interrupt, so that a HLT with interrupts enabled waits rather than ends the run.</summary>
    bool CanRaise { get; }

    /// <summary>The INTA cycle: takes the highest-priority request and returns its vector.</summary>
    int Acknowledge();

    /// <summary>Raised, on any thread, whenever INTR may have risen.</summary>
    event Action? InterruptRaised;
}

/// <summary>A vCPU backend that takes its interrupts from a userspace <see cref="IInterruptController"/> (Unicorn; KVM without an in-kernel irqchip).</summary>
public interface IInterruptibleBackend
{
    /// <summary>The controller whose INTR line the vCPU follows, or null.</summary>
    IInterruptController? InterruptController { get; set; }
}
