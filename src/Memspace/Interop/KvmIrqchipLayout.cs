namespace Memspace.Interop;

/// <summary>
/// The layouts of KVM's in-kernel interrupt controller and timer state (<c>&lt;linux/kvm.h&gt;</c>, x86_64):
/// <c>struct kvm_irqchip</c> (a chip id, padding, and a 512-byte union holding <c>struct kvm_pic_state</c>
/// or <c>struct kvm_ioapic_state</c>) for <c>KVM_GET/SET_IRQCHIP</c>, and <c>struct kvm_pit_state2</c>
/// for <c>KVM_GET/SET_PIT2</c>. Each field is (kernel name, byte offset, size, signed); padding and
/// reserved words are left out. KvmAbiLayoutTests checks every offset and size with gcc.
/// </summary>
internal static class KvmIrqchipLayout
{
    /// <summary>sizeof(struct kvm_irqchip).</summary>
    public const int IrqchipSize = 520;

    /// <summary>offsetof(struct kvm_irqchip, chip): where the chip's state starts.</summary>
    public const int IrqchipChipOffset = 8;

    /// <summary>Size of the union in struct kvm_irqchip.</summary>
    public const int IrqchipChipSize = 512;

    /// <summary>sizeof(struct kvm_pic_state).</summary>
    public const int PicStateSize = 16;

    /// <summary>sizeof(struct kvm_ioapic_state).</summary>
    public const int IoapicStateSize = 216;

    /// <summary>sizeof(struct kvm_pit_state2).</summary>
    public const int PitState2Size = 112;

    /// <summary>sizeof(struct kvm_pit_channel_state).</summary>
    public const int PitChannelSize = 24;

    /// <summary>KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_IRQCHIP_IOAPIC.</summary>
    public const uint ChipPicMaster = 0, ChipPicSlave = 1, ChipIoapic = 2;

    /// <summary>KVM_IOAPIC_NUM_PINS.</summary>
    public const int IoapicPins = 24;

    /// <summary>struct kvm_pic_state: sixteen bytes, in order.</summary>
    public static IReadOnlyList<(string Name, int Offset, int Size, bool Signed)> PicFields { get; } =
    [
        .. new[]
        {
            "last_irr", "irr", "imr", "isr", "priority_add", "irq_base", "read_reg_select", "poll", "special_mask",
            "init_state", "auto_eoi", "rotate_on_auto_eoi", "special_fully_nested_mode", "init4", "elcr", "elcr_mask",
        }.Select((name, i) => (name, i, 1, false)),
    ];

    /// <summary>struct kvm_ioapic_state: base address, IOREGSEL, id, IRR, then 24 redirection entries.</summary>
    public static IReadOnlyList<(string Name, int Offset, int Size, bool Signed)> IoapicFields { get; } =
    [
        ("base_address", 0, 8, false), ("ioregsel", 8, 4, false), ("id", 12, 4, false), ("irr", 16, 4, false),
        .. Enumerable.Range(0, IoapicPins).Select(i => ($"redirtbl[{i}]", 24 + (8 * i), 8, false)),
    ];

    /// <summary>struct kvm_pit_state2: three struct kvm_pit_channel_state, then flags.</summary>
    public static IReadOnlyList<(string Name, int Offset, int Size, bool Signed)> PitFields { get; } =
    [
        .. Enumerable.Range(0, 3).SelectMany(c => new (string, int, int, bool)[]
        {
            ($"channels[{c}].count", 0, 4, false), ($"channels[{c}].latched_count", 4, 2, false),
            ($"channels[{c}].count_latched", 6, 1, false), ($"channels[{c}].status_latched", 7, 1, false),
            ($"channels[{c}].status", 8, 1, false), ($"channels[{c}].read_state", 9, 1, false),
            ($"channels[{c}].write_state", 10, 1, false), ($"channels[{c}].write_latch", 11, 1, false),
            ($"channels[{c}].rw_mode", 12, 1, false), ($"channels[{c}].mode", 13, 1, false),
            ($"channels[{c}].bcd", 14, 1, false), ($"channels[{c}].gate", 15, 1, false),
            ($"channels[{c}].count_load_time", 16, 8, true),
        }.Select(f => (f.Item1, f.Item2 + (PitChannelSize * c), f.Item3, f.Item4))),
        ("flags", 3 * PitChannelSize, 4, false),
    ];
}
