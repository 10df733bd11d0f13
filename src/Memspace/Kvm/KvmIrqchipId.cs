namespace Memspace.Kvm;

/// <summary>The chips of KVM's in-kernel irqchip (<c>KVM_IRQCHIP_*</c>), as <c>KVM_GET_IRQCHIP</c> names them.</summary>
public enum KvmIrqchipId
{
    /// <summary>The master 8259 (ports 0x20-0x21, ELCR 0x4d0).</summary>
    PicMaster = 0,

    /// <summary>The slave 8259 (ports 0xa0-0xa1, ELCR 0x4d1).</summary>
    PicSlave = 1,

    /// <summary>The I/O APIC (0xfec00000).</summary>
    Ioapic = 2,
}
