namespace Memspace.Machines;

/// <summary>Which accelerator a machine runs on, and so where its memory map goes (KVM slots or Unicorn mappings).</summary>
public enum MachineAccelerator
{
    /// <summary>No accelerator: no KVM listener, no slots (like QEMU with TCG).</summary>
    None,

    /// <summary>A <see cref="Kvm.SimulatedKvmVm"/>: the slot table and trace KVM would get, with no kernel involved.</summary>
    Simulated,

    /// <summary>A VM on <c>/dev/kvm</c>; creating the machine fails if KVM cannot be used.</summary>
    Kvm,

    /// <summary>A VM on <c>/dev/kvm</c> if KVM can be used, else simulated (the reason is kept in <see cref="Machine.KvmUnavailableReason"/>).</summary>
    KvmIfAvailable,

    /// <summary>Unicorn (QEMU's TCG as a library, Debian's libunicorn2): guests run without <c>/dev/kvm</c>; no KVM slots. Creating the machine fails if libunicorn2 cannot be loaded.</summary>
    Unicorn,
}
