namespace Memspace.Tracing;

/// <summary>
/// The structures of the seed question's chain, from a board's regions down to KVM. Every
/// <see cref="ChainEvent"/> is tagged with the one it belongs to.
/// </summary>
public enum ChainStructure
{
    /// <summary>A region was created, mapped, enabled, moved or reconfigured (<c>MemoryRegion</c>).</summary>
    MemoryRegion,

    /// <summary>An address space was created or dispatched a guest access (<c>AddressSpace</c>).</summary>
    AddressSpace,

    /// <summary>A commit rendered new views (<c>FlatView</c>).</summary>
    FlatView,

    /// <summary>A range of a rendered view (<c>FlatRange</c>).</summary>
    FlatRange,

    /// <summary>A listener callback with its section (<c>MemoryRegionSection</c>).</summary>
    MemoryRegionSection,

    /// <summary>The RAM list changed (<c>RAMList</c>).</summary>
    RAMList,

    /// <summary>A RAM block was placed in ram_addr space or freed (<c>RAMBlock</c>).</summary>
    RAMBlock,

    /// <summary>KVM's slot table changed (<c>KVMSlot</c>).</summary>
    KVMSlot,

    /// <summary>A <c>KVM_SET_USER_MEMORY_REGION</c> ioctl (<c>struct kvm_userspace_memory_region</c>).</summary>
    KvmUserspaceMemoryRegion,

    /// <summary>A vCPU exit served by the address spaces (<c>KVM_EXIT_IO</c>, <c>KVM_EXIT_MMIO</c>, ...).</summary>
    VcpuExit,

    /// <summary>Unicorn's memory map changed (<c>uc_mem_map_ptr</c>, <c>uc_mmio_map</c>, <c>uc_mem_unmap</c>).</summary>
    UnicornMapping,

    /// <summary>A guest-visible device register changed the topology (PAM, SMRAM, PCIEXBAR).</summary>
    Device,
}
