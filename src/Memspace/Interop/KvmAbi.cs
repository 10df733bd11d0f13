namespace Memspace.Interop;

/// <summary>The KVM ioctl numbers, capabilities and constants used here (x86_64, <c>&lt;linux/kvm.h&gt;</c>).</summary>
internal static class KvmAbi
{
    public const uint GetApiVersion = 0xAE00;
    public const uint CreateVm = 0xAE01;
    public const uint CheckExtension = 0xAE03;
    public const uint GetVcpuMmapSize = 0xAE04;
    public const uint GetSupportedCpuid = 0xC008AE05;
    public const uint CreateVcpu = 0xAE41;
    public const uint GetDirtyLog = 0x4010AE42;
    public const uint SetUserMemoryRegion = 0x4020AE46;
    public const uint SetTssAddr = 0xAE47;
    public const uint SetIdentityMapAddr = 0x4008AE48;
    public const uint CreateIrqchip = 0xAE60;
    public const uint IrqLine = 0x4008AE61;
    public const uint GetIrqchip = 0xC208AE62;
    public const uint SetIrqchip = 0x8208AE63;
    public const uint CreatePit2 = 0x4040AE77;
    public const uint GetPit2 = 0x8070AE9F;
    public const uint SetPit2 = 0x4070AEA0;
    public const uint Ioeventfd = 0x4040AE79;
    public const uint Run = 0xAE80;
    public const uint GetRegs = 0x8090AE81;
    public const uint SetRegs = 0x4090AE82;
    public const uint GetSregs = 0x8138AE83;
    public const uint SetSregs = 0x4138AE84;
    public const uint SetCpuid2 = 0x4008AE90;
    public const uint GetMsrIndexList = 0xC004AE02;
    public const uint GetMsrs = 0xC008AE88;
    public const uint SetMsrs = 0x4008AE89;
    public const uint GetFpu = 0x81A0AE8C;
    public const uint SetFpu = 0x41A0AE8D;
    public const uint GetLapic = 0x8400AE8E;
    public const uint SetLapic = 0x4400AE8F;
    public const uint GetMpState = 0x8004AE98;
    public const uint SetMpState = 0x4004AE99;
    public const uint GetVcpuEvents = 0x8040AE9F;
    public const uint SetVcpuEvents = 0x4040AEA0;
    public const uint GetDebugregs = 0x8080AEA1;
    public const uint SetDebugregs = 0x4080AEA2;
    public const uint GetXsave = 0x9000AEA4;
    public const uint SetXsave = 0x5000AEA5;
    public const uint GetXsave2 = 0x9000AECF;
    public const uint GetXcrs = 0x8188AEA6;
    public const uint SetXcrs = 0x4188AEA7;
    public const uint SetClock = 0x4030AE7B;
    public const uint GetClock = 0x8030AE7C;

    /// <summary>The argument size an ioctl number encodes (bits 29:16).</summary>
    public static int IoctlSize(uint request) => (int)((request >> 16) & 0x3fff);

    public const int ApiVersion = 12;

    public const int CapUserMemory = 3;
    public const int CapSetTssAddr = 4;
    public const int CapSetIdentityMapAddr = 37;
    public const int CapExtCpuid = 7;
    public const int CapNrMemslots = 10;
    public const int CapIoeventfd = 36;
    public const int CapMultiAddressSpace = 118;
    public const int CapReadonlyMem = 81;
    public const int CapImmediateExit = 136;
    public const int CapIrqchip = 0;
    public const int CapMpState = 14;
    public const int CapAdjustClock = 39;
    public const int CapVcpuEvents = 41;
    public const int CapDebugregs = 50;
    public const int CapXsave = 55;
    public const int CapXcrs = 56;
    public const int CapXsave2 = 208;

    // struct kvm_msrs / kvm_msr_list / kvm_msr_entry.
    public const int MsrsHeader = 8;
    public const int MsrListHeader = 4;
    public const int MsrEntrySize = 16;
    public const int MsrEntryData = 8;

    // struct kvm_vcpu_events.
    public const int VcpuEventsFlags = 20;
    public const uint VcpuEventValidNmiPending = 1;
    public const uint VcpuEventValidSipiVector = 2;

    // struct kvm_sregs.
    public const int SregsInterruptBitmap = 280;

    // struct kvm_clock_data.
    public const int ClockDataClock = 0;
    public const int ClockDataFlags = 8;
    public const int ClockDataRealtime = 16;
    public const int ClockDataHostTsc = 24;

    public const uint MemLogDirtyPages = 1 << 0;
    public const uint MemReadonly = 1 << 1;

    public const uint IoeventfdFlagDatamatch = 1 << 0;
    public const uint IoeventfdFlagPio = 1 << 1;
    public const uint IoeventfdFlagDeassign = 1 << 2;

    public const uint ExitUnknown = 0;
    public const uint ExitException = 1;
    public const uint ExitIo = 2;
    public const uint ExitHypercall = 3;
    public const uint ExitDebug = 4;
    public const uint ExitHlt = 5;
    public const uint ExitMmio = 6;
    public const uint ExitShutdown = 8;
    public const uint ExitFailEntry = 9;
    public const uint ExitIntr = 10;
    public const uint ExitInternalError = 17;
    public const uint ExitSystemEvent = 24;

    public const int IoIn = 0;
    public const int IoOut = 1;

    public const int InternalErrorEmulation = 1;

    // Offsets in the mmap'd struct kvm_run.
    public const int RunImmediateExit = 1;
    public const int RunExitReason = 8;
    public const int RunExit = 32;
    public const int RunIoDirection = 32;
    public const int RunIoSize = 33;
    public const int RunIoPort = 34;
    public const int RunIoCount = 36;
    public const int RunIoDataOffset = 40;
    public const int RunMmioPhysAddr = 32;
    public const int RunMmioData = 40;
    public const int RunMmioLen = 48;
    public const int RunMmioIsWrite = 52;
    public const int RunFailEntryReason = 32;
    public const int RunInternalSuberror = 32;
    public const int RunInternalNdata = 36;
    public const int RunInternalData = 40;
    public const int RunEmulationInsnSize = 48;
    public const int RunEmulationInsnBytes = 49;
    public const int RunSystemEventType = 32;
}
