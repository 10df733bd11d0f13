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
}
