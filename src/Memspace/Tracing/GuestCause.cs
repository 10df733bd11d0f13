namespace Memspace.Tracing;

/// <summary>A guest exit whose service changed the accelerator's mappings (for KVM: slot ioctls).</summary>
/// <param name="Exit">The exit's event (its payload is a <see cref="VcpuExitEvent"/>).</param>
/// <param name="Effects">What devices did with it, as they reported it (for example a PAM register's new routing).</param>
/// <param name="Mappings">The mapping changes made while the exit was served, in order.</param>
public sealed record GuestCause(ChainEvent Exit, IReadOnlyList<string> Effects, IReadOnlyList<AcceleratorMappingEvent> Mappings);
