namespace Memspace.Tracing;

/// <summary>
/// An accelerator changed how guest memory is mapped for the guest (for KVM, one
/// <c>KVM_SET_USER_MEMORY_REGION</c>, <see cref="SlotIoctlEvent"/>). <see cref="ChainSummary"/> and
/// <see cref="TimelineFolder"/> work on this type, so any accelerator whose events derive from it is
/// summarised the same way.
/// </summary>
public abstract record AcceleratorMappingEvent : ChainPayload
{
    /// <summary>The call that makes one change, as the accelerator's API names it (KVM: "KVM_SET_USER_MEMORY_REGION").</summary>
    public abstract string Call { get; }

    /// <summary>What the accelerator calls the mapping it changed (KVM: "Slot#3").</summary>
    public abstract string Mapping { get; }

    /// <summary>Guest-physical start of the mapping (the old start when it is removed).</summary>
    public abstract ulong Start { get; }

    /// <summary>Size of the mapping; 0 when the change removes it.</summary>
    public abstract ulong Size { get; }

    /// <summary>Whether the change removes a mapping.</summary>
    public bool Removes => Size == 0;

    /// <summary>One short phrase: "Slot#3 [0xe0000, 0x100000)" or "Slot#3 deleted".</summary>
    public string Brief => Removes ? $"{Mapping} deleted" : $"{Mapping} [0x{Start:x}, 0x{(UInt128)Start + Size:x})";
}
