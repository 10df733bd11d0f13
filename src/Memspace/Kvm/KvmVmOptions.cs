namespace Memspace.Kvm;

/// <summary>How a <see cref="KvmVm"/> is set up.</summary>
public sealed record KvmVmOptions
{
    /// <summary>The KVM device.</summary>
    public string DevicePath { get; init; } = "/dev/kvm";

    /// <summary>
    /// Create the in-kernel PIC, IOAPIC and LAPICs (<c>KVM_CREATE_IRQCHIP</c>) and PIT. With it, HLT
    /// no longer exits to userspace; small test guests leave it off so that HLT ends their run.
    /// </summary>
    public bool InKernelIrqchip { get; init; }

    /// <summary>Address of the three-page TSS region (<c>KVM_SET_TSS_ADDR</c>), needed on Intel.</summary>
    public ulong TssAddress { get; init; } = 0xfffbd000;

    /// <summary>
    /// Address of the one-page identity map for real-mode emulation on Intel (<c>KVM_SET_IDENTITY_MAP_ADDR</c>),
    /// or null to leave KVM's default. QEMU's x86 boards use 0xfeffc000 with the TSS after it, and
    /// reserve both in the e820 map.
    /// </summary>
    public ulong? IdentityMapAddress { get; init; }
}
