using System.Runtime.InteropServices;

namespace Memspace.Interop;

/// <summary><c>struct kvm_userspace_memory_region</c> (32 bytes): what <c>KVM_SET_USER_MEMORY_REGION</c> takes.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
public struct KvmUserspaceMemoryRegion
{
    /// <summary>Slot id, with the address-space id in bits 16 and up.</summary>
    public uint Slot;

    /// <summary><c>KVM_MEM_LOG_DIRTY_PAGES</c> (1), <c>KVM_MEM_READONLY</c> (2).</summary>
    public uint Flags;

    /// <summary>First guest-physical address.</summary>
    public ulong GuestPhysAddr;

    /// <summary>Size in bytes; 0 deletes the slot.</summary>
    public ulong MemorySize;

    /// <summary>Host address of the first byte.</summary>
    public ulong UserspaceAddr;
}

/// <summary><c>struct kvm_regs</c> (144 bytes): the general-purpose registers.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
internal struct KvmRegs
{
#pragma warning disable CS1591 // the register names are the documentation
    public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rsp, Rbp;
    public ulong R8, R9, R10, R11, R12, R13, R14, R15;
    public ulong Rip, Rflags;
#pragma warning restore CS1591
}

/// <summary><c>struct kvm_segment</c> (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
internal struct KvmSegment
{
#pragma warning disable CS1591 // the field names are the kernel's
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public byte Type, Present, Dpl, Db, S, L, G, Avl, Unusable, Padding;
#pragma warning restore CS1591
}

/// <summary><c>struct kvm_dtable</c> (16 bytes): a descriptor table register.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
internal struct KvmDtable
{
    /// <summary>Base address.</summary>
    public ulong Base;

    /// <summary>Limit.</summary>
    public ushort Limit;

    private ushort _pad0, _pad1, _pad2;
}

/// <summary><c>struct kvm_sregs</c> (312 bytes): segment, descriptor-table and control registers.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
internal struct KvmSregs
{
#pragma warning disable CS1591 // the register names are the documentation
    public KvmSegment Cs, Ds, Es, Fs, Gs, Ss, Tr, Ldt;
    public KvmDtable Gdt, Idt;
    public ulong Cr0, Cr2, Cr3, Cr4, Cr8, Efer, ApicBase;
    public InterruptBitmap256 InterruptBitmap;
#pragma warning restore CS1591
}

/// <summary>The 256-bit pending-interrupt bitmap of <c>kvm_sregs</c> (four 64-bit words).</summary>
[System.Runtime.CompilerServices.InlineArray(4)]
internal struct InterruptBitmap256
{
    private ulong _word;
}

/// <summary><c>struct kvm_dirty_log</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8)]
internal struct KvmDirtyLog
{
    public uint Slot;
    public uint Padding;
    public ulong DirtyBitmap;
}

/// <summary><c>struct kvm_ioeventfd</c> (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 8, Size = 64)]
internal struct KvmIoeventfdArgs
{
    public ulong Datamatch;
    public ulong Addr;
    public uint Len;
    public int Fd;
    public uint Flags;
}

/// <summary><c>struct kvm_cpuid_entry2</c> (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4, Size = 40)]
internal struct KvmCpuidEntry2
{
    public uint Function;
    public uint Index;
    public uint Flags;
    public uint Eax, Ebx, Ecx, Edx;
}

/// <summary><c>struct kvm_pit_config</c> (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct KvmPitConfig
{
    public uint Flags;
}

/// <summary><c>struct kvm_irq_level</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct KvmIrqLevel
{
    public uint Irq;
    public uint Level;
}
