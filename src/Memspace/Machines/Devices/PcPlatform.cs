using Memspace.Kvm;
using Memspace.Regions;

namespace Memspace.Machines.Devices;

/// <summary>
/// The devices QEMU 7.2's pc and q35 boards share, created and mapped in QEMU's order
/// (<c>pc_basic_device_init</c> and friends): the interrupt controllers (8259 pair with ELCR, I/O APIC,
/// the APIC's MSI window), HPET, RTC/CMOS, the 8254 timer and port 0x61, the keyboard controller and
/// port 0x92, the two DMA controllers, ports 0x80 and 0xf0, vmport, fw_cfg, and optionally the ISA debug
/// console. With the in-kernel irqchip (QEMU's <c>kernel-irqchip=on</c>, the KVM default) the PIC, PIT,
/// I/O APIC and MSI regions take QEMU's "kvm-" names.
/// </summary>
public sealed class PcPlatform
{
    /// <summary>Creates the devices (not yet mapped).</summary>
    /// <param name="machine">The board.</param>
    /// <param name="inKernelIrqchip">Name the interrupt controllers and timer as KVM's in-kernel models.</param>
    /// <param name="debugConsole">Add the ISA debug console at 0x402.</param>
    public PcPlatform(X86Machine machine, bool inKernelIrqchip, bool debugConsole)
    {
        ArgumentNullException.ThrowIfNull(machine);
        MemorySystem s = machine.System;
        InKernelIrqchip = inKernelIrqchip;
        PicMaster = new I8259(s, master: true, inKernelIrqchip);
        PicSlave = new I8259(s, master: false, inKernelIrqchip);
        IoApic = new IoApic(s, inKernelIrqchip);
        ApicMsi = new ApicMsi(s, inKernelIrqchip);
        Hpet = new Hpet(s, machine.Options.DeviceClock);
        Rtc = new Mc146818Rtc(s);
        Pit = new I8254Pit(s, inKernelIrqchip, machine.Options.DeviceClock);
        Speaker = new PcSpeaker(s, Pit);
        Keyboard = new I8042(s);
        Port92 = new Port92(s);
        Dma = [new I8257Dma(s, 0), new I8257Dma(s, 1)];
        Port80 = new IgnoredPort(s, "ioport80", 0x80);
        PortF0 = new IgnoredPort(s, "ioportF0", 0xf0);
        VmPort = new VmPort(s);
        FwCfg = new FwCfg(s);
        DebugConsole = debugConsole ? new IsaDebugConsole(s) : null;
        Rtc.SetMemorySize(machine.BelowFourGiB, machine.AboveFourGiB);
        if (inKernelIrqchip && machine.Kvm?.Vm is { HasInKernelIrqchip: true } vm)
        {
            // KVM answers these devices' ports and MMIO; their state is the kernel's.
            PicMaster.Kernel = PicSlave.Kernel = vm;
            IoApic.Kernel = vm;
            Pit.Kernel = vm;
        }
    }

    /// <summary>
    /// Maps an 8259 pair that really delivers interrupts (a vCPU without an in-kernel irqchip, such as
    /// Unicorn's, needs one) in place of <see cref="PicMaster"/> and <see cref="PicSlave"/>; null maps those.
    /// </summary>
    public Action<MemoryRegion>? MapPicInstead { get; init; }

    /// <summary>A timer region mapped at 0x40 in place of <see cref="Pit"/>'s (with <see cref="MapPicInstead"/>); null maps that.</summary>
    public MemoryRegion? PitInstead { get; init; }

    /// <summary>Whether the in-kernel names are used.</summary>
    public bool InKernelIrqchip { get; }

    /// <summary>Master 8259.</summary>
    public I8259 PicMaster { get; }

    /// <summary>Slave 8259.</summary>
    public I8259 PicSlave { get; }

    /// <summary>I/O APIC.</summary>
    public IoApic IoApic { get; }

    /// <summary>The APIC's MSI window.</summary>
    public ApicMsi ApicMsi { get; }

    /// <summary>HPET.</summary>
    public Hpet Hpet { get; }

    /// <summary>RTC and CMOS.</summary>
    public Mc146818Rtc Rtc { get; }

    /// <summary>8254 timer.</summary>
    public I8254Pit Pit { get; }

    /// <summary>Port 0x61.</summary>
    public PcSpeaker Speaker { get; }

    /// <summary>8042 keyboard controller.</summary>
    public I8042 Keyboard { get; }

    /// <summary>Port 0x92.</summary>
    public Port92 Port92 { get; }

    /// <summary>DMA controllers 0 and 1.</summary>
    public IReadOnlyList<I8257Dma> Dma { get; }

    /// <summary>Port 0x80.</summary>
    public IgnoredPort Port80 { get; }

    /// <summary>Port 0xf0.</summary>
    public IgnoredPort PortF0 { get; }

    /// <summary>VMware backdoor port.</summary>
    public VmPort VmPort { get; }

    /// <summary>Firmware configuration.</summary>
    public FwCfg FwCfg { get; }

    /// <summary>ISA debug console, or null.</summary>
    public IsaDebugConsole? DebugConsole { get; }

    /// <summary>Maps the interrupt controllers (QEMU creates them before the southbridge functions).</summary>
    /// <param name="system">System memory.</param>
    /// <param name="io">The "io" root.</param>
    public void MapInterruptControllers(MemoryRegion system, MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(system);
        if (MapPicInstead is { } mapPic)
        {
            mapPic(io);
        }
        else
        {
            PicMaster.Map(io);
            PicSlave.Map(io);
        }
        system.AddSubregion(ApicMsi.DefaultAddress, ApicMsi.Region, ApicMsi.Priority);
    }

    /// <summary>Maps the rest in <c>pc_basic_device_init</c>'s order, then fw_cfg and the debug console.</summary>
    /// <param name="system">System memory.</param>
    /// <param name="io">The "io" root.</param>
    public void MapBasicDevices(MemoryRegion system, MemoryRegion io)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(io);
        system.AddSubregion(Hpet.DefaultAddress, Hpet.Region);
        Rtc.Map(io);
        io.AddSubregion(0x40, PitInstead ?? Pit.Region);
        io.AddSubregion(0x61, Speaker.Region);
        io.AddSubregion(0x80, Port80.Region);
        io.AddSubregion(0xf0, PortF0.Region);
        Keyboard.Map(io);
        io.AddSubregion(VmPort.Port, VmPort.Region);
        io.AddSubregion(0x92, Port92.Region);
        Dma[0].Map(io);
        Dma[1].Map(io);
        system.AddSubregion(IoApic.DefaultAddress, IoApic.Region);
    }

    /// <summary>Maps fw_cfg and the debug console (created at machine-init-done and from -device in QEMU).</summary>
    /// <param name="io">The "io" root.</param>
    public void MapLateDevices(MemoryRegion io)
    {
        FwCfg.Map(io);
        if (DebugConsole is not null)
        {
            io.AddSubregion(IsaDebugConsole.DefaultPort, DebugConsole.Region);
        }
    }

    /// <summary>
    /// Registers the state of every mapped platform device with <paramref name="machine"/>: the 8259s and the
    /// 8254 unless userspace ones are mapped instead, the IOAPIC, the MSI window, HPET, RTC, port 0x61, the
    /// 8042, port 0x92, both DMA controllers, ports 0x80 and 0xf0, fw_cfg and the debug console. vmport
    /// has no register (it answers every read with all ones) and carries nothing.
    /// </summary>
    /// <param name="machine">The board.</param>
    public void RegisterDeviceStates(Machine machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        if (MapPicInstead is null)
        {
            machine.RegisterDeviceState(PicMaster);
            machine.RegisterDeviceState(PicSlave);
        }
        machine.RegisterDeviceState(IoApic);
        machine.RegisterDeviceState(ApicMsi);
        machine.RegisterDeviceState(Hpet);
        machine.RegisterDeviceState(Rtc);
        if (PitInstead is null)
        {
            machine.RegisterDeviceState(Pit);
        }
        machine.RegisterDeviceState(Speaker);
        machine.RegisterDeviceState(Keyboard);
        machine.RegisterDeviceState(Port92);
        machine.RegisterDeviceState(Dma[0]);
        machine.RegisterDeviceState(Dma[1]);
        machine.RegisterDeviceState(Port80);
        machine.RegisterDeviceState(PortF0);
        machine.RegisterDeviceState(FwCfg);
        if (DebugConsole is not null)
        {
            machine.RegisterDeviceState(DebugConsole);
        }
    }

    /// <summary>System reset of the devices with a reset handler.</summary>
    public void Reset()
    {
        PicMaster.Reset();
        PicSlave.Reset();
        IoApic.Reset();
        Dma[0].Reset();
        Dma[1].Reset();
    }
}
