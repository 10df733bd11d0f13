namespace Memspace.Kvm;

/// <summary>
/// One entry of a KVM memory listener's slot table (QEMU's <c>KVMSlot</c>): guest-physical range,
/// host address and ram_addr of its memory, flags. Free when <see cref="MemorySize"/> is 0.
/// </summary>
public sealed class KvmSlot
{
    internal KvmSlot(int slot, int asId)
    {
        Slot = slot;
        AsId = asId;
    }

    /// <summary>Slot id (index in the table).</summary>
    public int Slot { get; }

    /// <summary>KVM address-space id (0 normal memory, 1 SMM on x86).</summary>
    public int AsId { get; }

    /// <summary>First guest-physical address.</summary>
    public ulong StartAddr { get; internal set; }

    /// <summary>Size in bytes; 0 when the entry is free.</summary>
    public ulong MemorySize { get; internal set; }

    /// <summary>Host address of the first byte (QEMU's <c>ram</c>).</summary>
    public nint Ram { get; internal set; }

    /// <summary>ram_addr of the first byte (QEMU's <c>ram_start_offset</c>).</summary>
    public ulong RamStartOffset { get; internal set; }

    /// <summary><c>KVM_MEM_LOG_DIRTY_PAGES</c> (1), <c>KVM_MEM_READONLY</c> (2).</summary>
    public uint Flags { get; internal set; }

    /// <summary>Flags last given to KVM.</summary>
    public uint OldFlags { get; internal set; }

    /// <summary>Bitmap for <c>KVM_GET_DIRTY_LOG</c>, one bit per host page; null unless logging.</summary>
    internal ulong[]? DirtyBitmap { get; set; }

    /// <summary>The id KVM sees: slot id with the address-space id in bits 16 and up.</summary>
    public uint KernelSlot => (uint)(Slot | (AsId << 16));

    /// <summary>Whether the slot is read-only (<c>KVM_MEM_READONLY</c>): guest writes exit as MMIO.</summary>
    public bool ReadOnly => (Flags & Interop.KvmAbi.MemReadonly) != 0;

    /// <summary>Whether KVM logs dirty pages of the slot (<c>KVM_MEM_LOG_DIRTY_PAGES</c>).</summary>
    public bool LogsDirtyPages => (Flags & Interop.KvmAbi.MemLogDirtyPages) != 0;

    /// <inheritdoc/>
    public override string ToString() => $"Slot#{KernelSlot} gpa=0x{StartAddr:x} size=0x{MemorySize:x} flags=0x{Flags:x}";
}
