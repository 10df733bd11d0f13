using Memspace.Interop;

namespace Memspace.Kvm;

/// <summary>
/// The VM-level KVM calls the memory listeners make. <see cref="KvmVm"/> makes them on a real VM;
/// <see cref="SimulatedKvmVm"/> records them, for showing what would be set without <c>/dev/kvm</c>
/// and for tests.
/// </summary>
public interface IKvmVm
{
    /// <summary>Memory slots the VM allows (<c>KVM_CAP_NR_MEMSLOTS</c>; 32 when the kernel reports 0).</summary>
    int NrMemslots { get; }

    /// <summary>Whether read-only slots are supported (<c>KVM_CAP_READONLY_MEM</c>).</summary>
    bool ReadonlyMemSupported { get; }

    /// <summary>Memory address spaces the VM has (<c>KVM_CAP_MULTI_ADDRESS_SPACE</c>; 1 when the kernel reports 0). x86 has 2: normal and SMM.</summary>
    int AddressSpaces { get; }

    /// <summary><c>KVM_SET_USER_MEMORY_REGION</c>; returns 0 or -errno.</summary>
    /// <param name="region">The slot to set (size 0 deletes it).</param>
    int SetUserMemoryRegion(in KvmUserspaceMemoryRegion region);

    /// <summary><c>KVM_GET_DIRTY_LOG</c> into <paramref name="bitmap"/> (one bit per host page, little-endian words); returns 0 or -errno.</summary>
    /// <param name="slot">Slot id with the address-space id in bits 16 and up.</param>
    /// <param name="bitmap">Receives the bits; the kernel clears its copy.</param>
    int GetDirtyLog(uint slot, ulong[] bitmap);

    /// <summary><c>KVM_IOEVENTFD</c>; returns 0 or -errno.</summary>
    /// <param name="address">Guest address or port.</param>
    /// <param name="length">Access width (0: any).</param>
    /// <param name="datamatch">Value to match when <c>KVM_IOEVENTFD_FLAG_DATAMATCH</c> is set.</param>
    /// <param name="fd">The eventfd.</param>
    /// <param name="flags"><c>DATAMATCH</c> (1), <c>PIO</c> (2), <c>DEASSIGN</c> (4).</param>
    int Ioeventfd(ulong address, uint length, ulong datamatch, int fd, uint flags);

    /// <summary>Whether the VM has KVM's in-kernel PIC, IOAPIC and PIT (<c>KVM_CREATE_IRQCHIP</c> and <c>KVM_CREATE_PIT2</c> were made).</summary>
    bool HasInKernelIrqchip => false;

    /// <summary><c>KVM_GET_IRQCHIP</c>: the state of one in-kernel chip.</summary>
    /// <param name="chip">Which chip.</param>
    /// <exception cref="KvmException">The VM has no in-kernel irqchip, or KVM refused.</exception>
    KvmChipState GetIrqchip(KvmIrqchipId chip) => throw new KvmException("KVM_GET_IRQCHIP: this VM has no in-kernel irqchip");

    /// <summary><c>KVM_SET_IRQCHIP</c>: replaces the state of one in-kernel chip.</summary>
    /// <param name="chip">Which chip.</param>
    /// <param name="state">Its new state (a <c>kvm_pic_state</c> or <c>kvm_ioapic_state</c> as <see cref="GetIrqchip"/> returns).</param>
    /// <exception cref="KvmException">The VM has no in-kernel irqchip, or KVM refused.</exception>
    void SetIrqchip(KvmIrqchipId chip, KvmChipState state) => throw new KvmException("KVM_SET_IRQCHIP: this VM has no in-kernel irqchip");

    /// <summary><c>KVM_GET_PIT2</c>: the in-kernel PIT's state.</summary>
    /// <exception cref="KvmException">The VM has no in-kernel PIT, or KVM refused.</exception>
    KvmChipState GetPit() => throw new KvmException("KVM_GET_PIT2: this VM has no in-kernel PIT");

    /// <summary><c>KVM_SET_PIT2</c>: replaces the in-kernel PIT's state (KVM restarts each counter's count at the time of the call).</summary>
    /// <param name="state">A <c>kvm_pit_state2</c> as <see cref="GetPit"/> returns.</param>
    /// <exception cref="KvmException">The VM has no in-kernel PIT, or KVM refused.</exception>
    void SetPit(KvmChipState state) => throw new KvmException("KVM_SET_PIT2: this VM has no in-kernel PIT");
}
