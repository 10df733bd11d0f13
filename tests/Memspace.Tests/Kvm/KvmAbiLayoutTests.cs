using System.Runtime.InteropServices;
using Memspace.Interop;
using Memspace.Tests.Support;

namespace Memspace.Tests.Kvm;

/// <summary>
/// The KVM structures and ioctl numbers Memspace declares, checked against the installed kernel
/// headers by compiling a small C program with gcc.
/// </summary>
public class KvmAbiLayoutTests
{
    private const string Program = """
        #include <stdio.h>
        #include <stddef.h>
        #include <linux/kvm.h>
        #define S(t) printf(#t " size %zu\n", sizeof(struct t))
        #define O(t, f) printf(#t "." #f " %zu\n", offsetof(struct t, f))
        #define N(x) printf(#x " %lu\n", (unsigned long)(x))
        int main(void) {
            S(kvm_userspace_memory_region); O(kvm_userspace_memory_region, slot); O(kvm_userspace_memory_region, flags);
            O(kvm_userspace_memory_region, guest_phys_addr); O(kvm_userspace_memory_region, memory_size); O(kvm_userspace_memory_region, userspace_addr);
            S(kvm_regs); O(kvm_regs, rax); O(kvm_regs, r8); O(kvm_regs, rip); O(kvm_regs, rflags);
            S(kvm_segment); O(kvm_segment, base); O(kvm_segment, limit); O(kvm_segment, selector); O(kvm_segment, type); O(kvm_segment, unusable);
            S(kvm_dtable); O(kvm_dtable, limit);
            S(kvm_sregs); O(kvm_sregs, cs); O(kvm_sregs, ldt); O(kvm_sregs, gdt); O(kvm_sregs, idt); O(kvm_sregs, cr0); O(kvm_sregs, cr3); O(kvm_sregs, efer); O(kvm_sregs, apic_base); O(kvm_sregs, interrupt_bitmap);
            S(kvm_dirty_log); O(kvm_dirty_log, dirty_bitmap);
            S(kvm_ioeventfd); O(kvm_ioeventfd, datamatch); O(kvm_ioeventfd, addr); O(kvm_ioeventfd, len); O(kvm_ioeventfd, fd); O(kvm_ioeventfd, flags);
            S(kvm_cpuid_entry2); O(kvm_cpuid_entry2, function); O(kvm_cpuid_entry2, eax); O(kvm_cpuid_entry2, edx);
            S(kvm_pit_config); S(kvm_irq_level);
            S(kvm_msrs); O(kvm_msrs, entries); S(kvm_msr_entry); O(kvm_msr_entry, data); O(kvm_msr_list, indices);
            S(kvm_vcpu_events); O(kvm_vcpu_events, flags);
            S(kvm_clock_data); O(kvm_clock_data, clock); O(kvm_clock_data, flags); O(kvm_clock_data, realtime); O(kvm_clock_data, host_tsc);
            N(KVM_GET_MSR_INDEX_LIST); N(KVM_GET_MSRS); N(KVM_SET_MSRS); N(KVM_GET_FPU); N(KVM_SET_FPU); N(KVM_GET_LAPIC); N(KVM_SET_LAPIC);
            N(KVM_GET_MP_STATE); N(KVM_SET_MP_STATE); N(KVM_GET_VCPU_EVENTS); N(KVM_SET_VCPU_EVENTS); N(KVM_GET_DEBUGREGS); N(KVM_SET_DEBUGREGS);
            N(KVM_GET_XSAVE); N(KVM_SET_XSAVE); N(KVM_GET_XSAVE2); N(KVM_CAP_XSAVE2); N(KVM_GET_XCRS); N(KVM_SET_XCRS); N(KVM_SET_CLOCK); N(KVM_GET_CLOCK);
            N(KVM_CAP_IRQCHIP); N(KVM_CAP_MP_STATE); N(KVM_CAP_ADJUST_CLOCK); N(KVM_CAP_VCPU_EVENTS); N(KVM_CAP_DEBUGREGS); N(KVM_CAP_XSAVE); N(KVM_CAP_XCRS);
            N(KVM_VCPUEVENT_VALID_NMI_PENDING); N(KVM_VCPUEVENT_VALID_SIPI_VECTOR);
            S(kvm_irqchip); O(kvm_irqchip, chip_id); O(kvm_irqchip, chip); printf("kvm_irqchip.chip size %zu\n", sizeof(((struct kvm_irqchip *)0)->chip));
            S(kvm_pic_state); S(kvm_ioapic_state); S(kvm_pit_state2); S(kvm_pit_channel_state);
            O(kvm_pic_state, last_irr); O(kvm_pic_state, irr); O(kvm_pic_state, imr); O(kvm_pic_state, isr); O(kvm_pic_state, priority_add);
            O(kvm_pic_state, irq_base); O(kvm_pic_state, read_reg_select); O(kvm_pic_state, poll); O(kvm_pic_state, special_mask);
            O(kvm_pic_state, init_state); O(kvm_pic_state, auto_eoi); O(kvm_pic_state, rotate_on_auto_eoi); O(kvm_pic_state, special_fully_nested_mode);
            O(kvm_pic_state, init4); O(kvm_pic_state, elcr); O(kvm_pic_state, elcr_mask);
            O(kvm_ioapic_state, base_address); O(kvm_ioapic_state, ioregsel); O(kvm_ioapic_state, id); O(kvm_ioapic_state, irr); O(kvm_ioapic_state, redirtbl);
            O(kvm_pit_channel_state, count); O(kvm_pit_channel_state, latched_count); O(kvm_pit_channel_state, count_latched); O(kvm_pit_channel_state, status_latched);
            O(kvm_pit_channel_state, status); O(kvm_pit_channel_state, read_state); O(kvm_pit_channel_state, write_state); O(kvm_pit_channel_state, write_latch);
            O(kvm_pit_channel_state, rw_mode); O(kvm_pit_channel_state, mode); O(kvm_pit_channel_state, bcd); O(kvm_pit_channel_state, gate);
            O(kvm_pit_channel_state, count_load_time); O(kvm_pit_state2, channels); O(kvm_pit_state2, flags);
            N(KVM_IOAPIC_NUM_PINS); N(KVM_IRQCHIP_PIC_MASTER); N(KVM_IRQCHIP_PIC_SLAVE); N(KVM_IRQCHIP_IOAPIC);
            N(KVM_GET_IRQCHIP); N(KVM_SET_IRQCHIP); N(KVM_GET_PIT2); N(KVM_SET_PIT2);
            O(kvm_run, immediate_exit); O(kvm_run, exit_reason); O(kvm_run, io); O(kvm_run, io.direction); O(kvm_run, io.size); O(kvm_run, io.port);
            O(kvm_run, io.count); O(kvm_run, io.data_offset); O(kvm_run, mmio.phys_addr); O(kvm_run, mmio.data); O(kvm_run, mmio.len); O(kvm_run, mmio.is_write);
            O(kvm_run, fail_entry.hardware_entry_failure_reason); O(kvm_run, internal.suberror); O(kvm_run, internal.ndata); O(kvm_run, internal.data);
            O(kvm_run, emulation_failure.insn_size); O(kvm_run, emulation_failure.insn_bytes); O(kvm_run, system_event.type);
            N(KVM_GET_API_VERSION); N(KVM_CREATE_VM); N(KVM_CHECK_EXTENSION); N(KVM_GET_VCPU_MMAP_SIZE); N(KVM_GET_SUPPORTED_CPUID);
            N(KVM_CREATE_VCPU); N(KVM_GET_DIRTY_LOG); N(KVM_SET_USER_MEMORY_REGION); N(KVM_SET_TSS_ADDR); N(KVM_SET_IDENTITY_MAP_ADDR); N(KVM_CREATE_IRQCHIP); N(KVM_IRQ_LINE);
            N(KVM_CREATE_PIT2); N(KVM_IOEVENTFD); N(KVM_RUN); N(KVM_GET_REGS); N(KVM_SET_REGS); N(KVM_GET_SREGS); N(KVM_SET_SREGS); N(KVM_SET_CPUID2);
            N(KVM_CAP_USER_MEMORY); N(KVM_CAP_SET_TSS_ADDR); N(KVM_CAP_NR_MEMSLOTS); N(KVM_CAP_READONLY_MEM); N(KVM_CAP_IOEVENTFD); N(KVM_CAP_IMMEDIATE_EXIT);
            N(KVM_MEM_LOG_DIRTY_PAGES); N(KVM_MEM_READONLY); N(KVM_IOEVENTFD_FLAG_DATAMATCH); N(KVM_IOEVENTFD_FLAG_PIO); N(KVM_IOEVENTFD_FLAG_DEASSIGN);
            N(KVM_EXIT_IO); N(KVM_EXIT_MMIO); N(KVM_EXIT_HLT); N(KVM_EXIT_SHUTDOWN); N(KVM_EXIT_FAIL_ENTRY); N(KVM_EXIT_INTR); N(KVM_EXIT_INTERNAL_ERROR); N(KVM_EXIT_SYSTEM_EVENT);
            return 0;
        }
        """;

    private static Dictionary<string, ulong> KernelFacts()
    {
        if (!File.Exists("/usr/include/linux/kvm.h"))
        {
            Assert.Skip("needs the kernel headers (/usr/include/linux/kvm.h, Debian package linux-libc-dev)");
        }
        return CProbe.Run(Program, "kvm-abi").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0] + (p.Length == 3 ? " " + p[1] : ""), p => ulong.Parse(p[^1]));
    }

    private static void Same(Dictionary<string, ulong> k, string name, int ours)
        => Assert.True(k[name] == (ulong)ours, $"{name}: headers {k[name]}, Memspace {ours}");

    private static ulong Off<T>(string field) => (ulong)Marshal.OffsetOf<T>(field);

    private static ulong Size<T>() => (ulong)Marshal.SizeOf<T>();

    [Fact]
    public void StructLayoutsMatchTheKernelHeaders()
    {
        Dictionary<string, ulong> k = KernelFacts();
        Assert.Equal(k["kvm_userspace_memory_region size"], Size<KvmUserspaceMemoryRegion>());
        Assert.Equal(k["kvm_userspace_memory_region.flags"], Off<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.Flags)));
        Assert.Equal(k["kvm_userspace_memory_region.guest_phys_addr"], Off<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.GuestPhysAddr)));
        Assert.Equal(k["kvm_userspace_memory_region.memory_size"], Off<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.MemorySize)));
        Assert.Equal(k["kvm_userspace_memory_region.userspace_addr"], Off<KvmUserspaceMemoryRegion>(nameof(KvmUserspaceMemoryRegion.UserspaceAddr)));
        Assert.Equal(k["kvm_regs size"], Size<KvmRegs>());
        Assert.Equal(k["kvm_regs.r8"], Off<KvmRegs>(nameof(KvmRegs.R8)));
        Assert.Equal(k["kvm_regs.rip"], Off<KvmRegs>(nameof(KvmRegs.Rip)));
        Assert.Equal(k["kvm_regs.rflags"], Off<KvmRegs>(nameof(KvmRegs.Rflags)));
        Assert.Equal(k["kvm_segment size"], Size<KvmSegment>());
        Assert.Equal(k["kvm_segment.limit"], Off<KvmSegment>(nameof(KvmSegment.Limit)));
        Assert.Equal(k["kvm_segment.selector"], Off<KvmSegment>(nameof(KvmSegment.Selector)));
        Assert.Equal(k["kvm_segment.type"], Off<KvmSegment>(nameof(KvmSegment.Type)));
        Assert.Equal(k["kvm_segment.unusable"], Off<KvmSegment>(nameof(KvmSegment.Unusable)));
        Assert.Equal(k["kvm_dtable size"], Size<KvmDtable>());
        Assert.Equal(k["kvm_dtable.limit"], Off<KvmDtable>(nameof(KvmDtable.Limit)));
        Assert.Equal(k["kvm_sregs size"], Size<KvmSregs>());
        Assert.Equal(k["kvm_sregs.ldt"], Off<KvmSregs>(nameof(KvmSregs.Ldt)));
        Assert.Equal(k["kvm_sregs.gdt"], Off<KvmSregs>(nameof(KvmSregs.Gdt)));
        Assert.Equal(k["kvm_sregs.idt"], Off<KvmSregs>(nameof(KvmSregs.Idt)));
        Assert.Equal(k["kvm_sregs.cr0"], Off<KvmSregs>(nameof(KvmSregs.Cr0)));
        Assert.Equal(k["kvm_sregs.cr3"], Off<KvmSregs>(nameof(KvmSregs.Cr3)));
        Assert.Equal(k["kvm_sregs.efer"], Off<KvmSregs>(nameof(KvmSregs.Efer)));
        Assert.Equal(k["kvm_sregs.apic_base"], Off<KvmSregs>(nameof(KvmSregs.ApicBase)));
        Assert.Equal(k["kvm_sregs.interrupt_bitmap"], Off<KvmSregs>(nameof(KvmSregs.InterruptBitmap)));
        Assert.Equal(k["kvm_dirty_log size"], Size<KvmDirtyLog>());
        Assert.Equal(k["kvm_dirty_log.dirty_bitmap"], Off<KvmDirtyLog>(nameof(KvmDirtyLog.DirtyBitmap)));
        Assert.Equal(k["kvm_ioeventfd size"], Size<KvmIoeventfdArgs>());
        Assert.Equal(k["kvm_ioeventfd.addr"], Off<KvmIoeventfdArgs>(nameof(KvmIoeventfdArgs.Addr)));
        Assert.Equal(k["kvm_ioeventfd.len"], Off<KvmIoeventfdArgs>(nameof(KvmIoeventfdArgs.Len)));
        Assert.Equal(k["kvm_ioeventfd.fd"], Off<KvmIoeventfdArgs>(nameof(KvmIoeventfdArgs.Fd)));
        Assert.Equal(k["kvm_ioeventfd.flags"], Off<KvmIoeventfdArgs>(nameof(KvmIoeventfdArgs.Flags)));
        Assert.Equal(k["kvm_cpuid_entry2 size"], Size<KvmCpuidEntry2>());
        Assert.Equal(k["kvm_cpuid_entry2.eax"], Off<KvmCpuidEntry2>(nameof(KvmCpuidEntry2.Eax)));
        Assert.Equal(k["kvm_cpuid_entry2.edx"], Off<KvmCpuidEntry2>(nameof(KvmCpuidEntry2.Edx)));
        Assert.Equal(k["kvm_pit_config size"], Size<KvmPitConfig>());
        Assert.Equal(k["kvm_irq_level size"], Size<KvmIrqLevel>());
    }

    [Fact]
    public void VcpuStateLayoutsMatchTheKernelHeaders()
    {
        Dictionary<string, ulong> k = KernelFacts();
        Same(k, "kvm_msrs.entries", KvmAbi.MsrsHeader);
        Same(k, "kvm_msr_list.indices", KvmAbi.MsrListHeader);
        Same(k, "kvm_msr_entry size", KvmAbi.MsrEntrySize);
        Same(k, "kvm_msr_entry.data", KvmAbi.MsrEntryData);
        Same(k, "kvm_vcpu_events.flags", KvmAbi.VcpuEventsFlags);
        Same(k, "kvm_sregs.interrupt_bitmap", KvmAbi.SregsInterruptBitmap);
        Same(k, "kvm_clock_data.clock", KvmAbi.ClockDataClock);
        Same(k, "kvm_clock_data.flags", KvmAbi.ClockDataFlags);
        Same(k, "kvm_clock_data.realtime", KvmAbi.ClockDataRealtime);
        Same(k, "kvm_clock_data.host_tsc", KvmAbi.ClockDataHostTsc);
        // The structures passed as whole blobs are sized by their ioctl numbers, checked below.
        Same(k, "kvm_vcpu_events size", KvmAbi.IoctlSize(KvmAbi.GetVcpuEvents));
        Same(k, "kvm_clock_data size", KvmAbi.IoctlSize(KvmAbi.GetClock));
    }

    [Fact]
    public void IrqchipAndPitLayoutsMatchTheKernelHeaders()
    {
        Dictionary<string, ulong> k = KernelFacts();
        Same(k, "kvm_irqchip size", (int)KvmIrqchipLayout.IrqchipSize);
        Same(k, "kvm_irqchip.chip", (int)KvmIrqchipLayout.IrqchipChipOffset);
        Same(k, "kvm_irqchip.chip size", (int)KvmIrqchipLayout.IrqchipChipSize);
        Same(k, "kvm_pic_state size", (int)KvmIrqchipLayout.PicStateSize);
        Same(k, "kvm_ioapic_state size", (int)KvmIrqchipLayout.IoapicStateSize);
        Same(k, "kvm_pit_state2 size", (int)KvmIrqchipLayout.PitState2Size);
        Same(k, "kvm_pit_channel_state size", (int)KvmIrqchipLayout.PitChannelSize);
        Same(k, "KVM_IOAPIC_NUM_PINS", (int)KvmIrqchipLayout.IoapicPins);
        Same(k, "KVM_IRQCHIP_PIC_MASTER", (int)KvmIrqchipLayout.ChipPicMaster);
        Same(k, "KVM_IRQCHIP_PIC_SLAVE", (int)KvmIrqchipLayout.ChipPicSlave);
        Same(k, "KVM_IRQCHIP_IOAPIC", (int)KvmIrqchipLayout.ChipIoapic);
        foreach ((string name, int offset, int size, bool _) in KvmIrqchipLayout.PicFields)
        {
            Assert.True(k[$"kvm_pic_state.{name}"] == (ulong)offset, $"kvm_pic_state.{name}: headers {k[$"kvm_pic_state.{name}"]}, Memspace {offset}");
            Assert.Equal(1, size);
        }
        ulong redirtbl = k["kvm_ioapic_state.redirtbl"];
        foreach ((string name, int offset, int size, bool _) in KvmIrqchipLayout.IoapicFields)
        {
            ulong expected = name.StartsWith("redirtbl[", StringComparison.Ordinal)
                ? redirtbl + (8 * ulong.Parse(name[9..^1], System.Globalization.CultureInfo.InvariantCulture))
                : k[$"kvm_ioapic_state.{name}"];
            Assert.True(expected == (ulong)offset, $"kvm_ioapic_state.{name}: headers {expected}, Memspace {offset}");
        }
        ulong channels = k["kvm_pit_state2.channels"], channel = k["kvm_pit_channel_state size"];
        foreach ((string name, int offset, int size, bool _) in KvmIrqchipLayout.PitFields)
        {
            ulong expected = name == "flags"
                ? k["kvm_pit_state2.flags"]
                : channels + (channel * (ulong)(name[9] - '0')) + k[$"kvm_pit_channel_state.{name[12..]}"];
            Assert.True(expected == (ulong)offset, $"kvm_pit_state2.{name}: headers {expected}, Memspace {offset}");
            Assert.True(offset + size <= KvmIrqchipLayout.PitState2Size);
        }
        (string, ulong)[] ioctls =
        [
            ("KVM_GET_IRQCHIP", KvmAbi.GetIrqchip), ("KVM_SET_IRQCHIP", KvmAbi.SetIrqchip), ("KVM_GET_PIT2", KvmAbi.GetPit2), ("KVM_SET_PIT2", KvmAbi.SetPit2),
        ];
        foreach ((string name, ulong value) in ioctls)
        {
            Assert.True(k[name] == value, $"{name}: headers 0x{k[name]:x}, Memspace 0x{value:x}");
        }
    }

    [Fact]
    public void KvmRunOffsetsMatchTheKernelHeaders()
    {
        Dictionary<string, ulong> k = KernelFacts();
        Same(k, "kvm_run.immediate_exit", KvmAbi.RunImmediateExit);
        Same(k, "kvm_run.exit_reason", KvmAbi.RunExitReason);
        Same(k, "kvm_run.io", KvmAbi.RunExit);
        Same(k, "kvm_run.io.direction", KvmAbi.RunIoDirection);
        Same(k, "kvm_run.io.size", KvmAbi.RunIoSize);
        Same(k, "kvm_run.io.port", KvmAbi.RunIoPort);
        Same(k, "kvm_run.io.count", KvmAbi.RunIoCount);
        Same(k, "kvm_run.io.data_offset", KvmAbi.RunIoDataOffset);
        Same(k, "kvm_run.mmio.phys_addr", KvmAbi.RunMmioPhysAddr);
        Same(k, "kvm_run.mmio.data", KvmAbi.RunMmioData);
        Same(k, "kvm_run.mmio.len", KvmAbi.RunMmioLen);
        Same(k, "kvm_run.mmio.is_write", KvmAbi.RunMmioIsWrite);
        Same(k, "kvm_run.fail_entry.hardware_entry_failure_reason", KvmAbi.RunFailEntryReason);
        Same(k, "kvm_run.internal.suberror", KvmAbi.RunInternalSuberror);
        Same(k, "kvm_run.internal.ndata", KvmAbi.RunInternalNdata);
        Same(k, "kvm_run.internal.data", KvmAbi.RunInternalData);
        Same(k, "kvm_run.emulation_failure.insn_size", KvmAbi.RunEmulationInsnSize);
        Same(k, "kvm_run.emulation_failure.insn_bytes", KvmAbi.RunEmulationInsnBytes);
        Same(k, "kvm_run.system_event.type", KvmAbi.RunSystemEventType);
    }

    [Fact]
    public void IoctlNumbersAndConstantsMatchTheKernelHeaders()
    {
        Dictionary<string, ulong> k = KernelFacts();
        (string, ulong)[] ours =
        [
            ("KVM_GET_API_VERSION", KvmAbi.GetApiVersion), ("KVM_CREATE_VM", KvmAbi.CreateVm), ("KVM_CHECK_EXTENSION", KvmAbi.CheckExtension),
            ("KVM_GET_VCPU_MMAP_SIZE", KvmAbi.GetVcpuMmapSize), ("KVM_GET_SUPPORTED_CPUID", KvmAbi.GetSupportedCpuid), ("KVM_CREATE_VCPU", KvmAbi.CreateVcpu),
            ("KVM_GET_DIRTY_LOG", KvmAbi.GetDirtyLog), ("KVM_SET_USER_MEMORY_REGION", KvmAbi.SetUserMemoryRegion), ("KVM_SET_TSS_ADDR", KvmAbi.SetTssAddr), ("KVM_SET_IDENTITY_MAP_ADDR", KvmAbi.SetIdentityMapAddr),
            ("KVM_CREATE_IRQCHIP", KvmAbi.CreateIrqchip), ("KVM_IRQ_LINE", KvmAbi.IrqLine), ("KVM_CREATE_PIT2", KvmAbi.CreatePit2), ("KVM_IOEVENTFD", KvmAbi.Ioeventfd),
            ("KVM_RUN", KvmAbi.Run), ("KVM_GET_REGS", KvmAbi.GetRegs), ("KVM_SET_REGS", KvmAbi.SetRegs), ("KVM_GET_SREGS", KvmAbi.GetSregs),
            ("KVM_SET_SREGS", KvmAbi.SetSregs), ("KVM_SET_CPUID2", KvmAbi.SetCpuid2),
            ("KVM_CAP_USER_MEMORY", KvmAbi.CapUserMemory), ("KVM_CAP_SET_TSS_ADDR", KvmAbi.CapSetTssAddr), ("KVM_CAP_NR_MEMSLOTS", KvmAbi.CapNrMemslots),
            ("KVM_CAP_READONLY_MEM", KvmAbi.CapReadonlyMem), ("KVM_CAP_IOEVENTFD", KvmAbi.CapIoeventfd), ("KVM_CAP_IMMEDIATE_EXIT", KvmAbi.CapImmediateExit),
            ("KVM_MEM_LOG_DIRTY_PAGES", KvmAbi.MemLogDirtyPages), ("KVM_MEM_READONLY", KvmAbi.MemReadonly),
            ("KVM_IOEVENTFD_FLAG_DATAMATCH", KvmAbi.IoeventfdFlagDatamatch), ("KVM_IOEVENTFD_FLAG_PIO", KvmAbi.IoeventfdFlagPio),
            ("KVM_IOEVENTFD_FLAG_DEASSIGN", KvmAbi.IoeventfdFlagDeassign),
            ("KVM_EXIT_IO", KvmAbi.ExitIo), ("KVM_EXIT_MMIO", KvmAbi.ExitMmio), ("KVM_EXIT_HLT", KvmAbi.ExitHlt), ("KVM_EXIT_SHUTDOWN", KvmAbi.ExitShutdown),
            ("KVM_EXIT_FAIL_ENTRY", KvmAbi.ExitFailEntry), ("KVM_EXIT_INTR", KvmAbi.ExitIntr), ("KVM_EXIT_INTERNAL_ERROR", KvmAbi.ExitInternalError),
            ("KVM_EXIT_SYSTEM_EVENT", KvmAbi.ExitSystemEvent),
            ("KVM_GET_MSR_INDEX_LIST", KvmAbi.GetMsrIndexList), ("KVM_GET_MSRS", KvmAbi.GetMsrs), ("KVM_SET_MSRS", KvmAbi.SetMsrs),
            ("KVM_GET_FPU", KvmAbi.GetFpu), ("KVM_SET_FPU", KvmAbi.SetFpu), ("KVM_GET_LAPIC", KvmAbi.GetLapic), ("KVM_SET_LAPIC", KvmAbi.SetLapic),
            ("KVM_GET_MP_STATE", KvmAbi.GetMpState), ("KVM_SET_MP_STATE", KvmAbi.SetMpState),
            ("KVM_GET_VCPU_EVENTS", KvmAbi.GetVcpuEvents), ("KVM_SET_VCPU_EVENTS", KvmAbi.SetVcpuEvents),
            ("KVM_GET_DEBUGREGS", KvmAbi.GetDebugregs), ("KVM_SET_DEBUGREGS", KvmAbi.SetDebugregs),
            ("KVM_GET_XSAVE", KvmAbi.GetXsave), ("KVM_SET_XSAVE", KvmAbi.SetXsave), ("KVM_GET_XSAVE2", KvmAbi.GetXsave2), ("KVM_CAP_XSAVE2", (ulong)KvmAbi.CapXsave2), ("KVM_GET_XCRS", KvmAbi.GetXcrs), ("KVM_SET_XCRS", KvmAbi.SetXcrs),
            ("KVM_SET_CLOCK", KvmAbi.SetClock), ("KVM_GET_CLOCK", KvmAbi.GetClock),
            ("KVM_CAP_IRQCHIP", (ulong)KvmAbi.CapIrqchip), ("KVM_CAP_MP_STATE", (ulong)KvmAbi.CapMpState), ("KVM_CAP_ADJUST_CLOCK", (ulong)KvmAbi.CapAdjustClock),
            ("KVM_CAP_VCPU_EVENTS", (ulong)KvmAbi.CapVcpuEvents), ("KVM_CAP_DEBUGREGS", (ulong)KvmAbi.CapDebugregs), ("KVM_CAP_XSAVE", (ulong)KvmAbi.CapXsave),
            ("KVM_CAP_XCRS", (ulong)KvmAbi.CapXcrs),
            ("KVM_VCPUEVENT_VALID_NMI_PENDING", KvmAbi.VcpuEventValidNmiPending), ("KVM_VCPUEVENT_VALID_SIPI_VECTOR", KvmAbi.VcpuEventValidSipiVector),
        ];
        foreach ((string name, ulong value) in ours)
        {
            Assert.True(k[name] == value, $"{name}: headers 0x{k[name]:x}, Memspace 0x{value:x}");
        }
    }
}
