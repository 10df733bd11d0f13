namespace Memspace.Vcpus;

/// <summary>The segment, descriptor-table and control registers of an x86-64 vCPU (what <c>struct kvm_sregs</c> holds).</summary>
public record struct X86SystemRegisters
{
    /// <summary>CS.</summary>
    public X86Segment Cs;

    /// <summary>DS.</summary>
    public X86Segment Ds;

    /// <summary>ES.</summary>
    public X86Segment Es;

    /// <summary>FS.</summary>
    public X86Segment Fs;

    /// <summary>GS.</summary>
    public X86Segment Gs;

    /// <summary>SS.</summary>
    public X86Segment Ss;

    /// <summary>The task register.</summary>
    public X86Segment Tr;

    /// <summary>The local descriptor table register.</summary>
    public X86Segment Ldt;

    /// <summary>GDTR.</summary>
    public X86DescriptorTable Gdt;

    /// <summary>IDTR.</summary>
    public X86DescriptorTable Idt;

    /// <summary>CR0.</summary>
    public ulong Cr0;

    /// <summary>CR2.</summary>
    public ulong Cr2;

    /// <summary>CR3.</summary>
    public ulong Cr3;

    /// <summary>CR4.</summary>
    public ulong Cr4;

    /// <summary>CR8 (the task priority).</summary>
    public ulong Cr8;

    /// <summary>EFER.</summary>
    public ulong Efer;

    /// <summary>The APIC base MSR.</summary>
    public ulong ApicBase;

    /// <summary>
    /// Puts the vCPU at the x86 reset vector: CS selector 0xf000 with base 0xffff0000 (so the first
    /// fetch is at 0xfffffff0), flat 64 KiB real-mode data segments at 0, protected mode and paging off.
    /// The other fields are left as they are.
    /// </summary>
    public void SetResetVector()
    {
        Cs = X86Segment.RealMode(0xf000, code: true) with { Base = 0xffff_0000 };
        Ds = Es = Fs = Gs = Ss = X86Segment.RealMode(0, code: false);
        Cr0 &= ~0x8000_0001UL;
        Efer = 0;
    }
}
