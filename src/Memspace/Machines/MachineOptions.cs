namespace Memspace.Machines;

/// <summary>How to build a machine: QEMU's <c>-m</c>, <c>-machine smm=</c>, <c>-bios</c> and the accelerator.</summary>
public sealed record MachineOptions
{
    /// <summary>Guest RAM in bytes (QEMU's <c>-m</c>; see <see cref="Machines.RamSize"/>). Default 512 MiB.</summary>
    public ulong RamSize { get; init; } = 512UL << 20;

    /// <summary>
    /// Whether SMM is enabled (QEMU's <c>smm=on</c>, the default where KVM supports it): on KVM the machine
    /// gets the "KVM-SMRAM" address space and the "kvm-smram" listener (KVM address space 1).
    /// </summary>
    public bool Smm { get; init; } = true;

    /// <summary>Where slot ioctls go. Default: simulated, so building a machine never needs <c>/dev/kvm</c>.</summary>
    public MachineAccelerator Accelerator { get; init; } = MachineAccelerator.Simulated;

    /// <summary>
    /// The firmware image loaded into <c>pc.bios</c> (QEMU's <c>-bios</c>): its size must be a non-zero
    /// multiple of 64 KiB; it is placed so that it ends at 4 GiB. Null: an image of the machine's
    /// default firmware size (256 KiB; microvm 64 KiB) filled with <c>hlt</c> (0xf4) bytes, since
    /// Memspace ships no firmware.
    /// </summary>
    public byte[]? Firmware { get; init; }

    /// <summary>The KVM device to open for <see cref="MachineAccelerator.Kvm"/> and <see cref="MachineAccelerator.KvmIfAvailable"/>. Default <c>/dev/kvm</c>.</summary>
    public string KvmDevicePath { get; init; } = "/dev/kvm";

    /// <summary>
    /// Memory address spaces the simulated VM offers (a real VM reports its
    /// <c>KVM_CAP_MULTI_ADDRESS_SPACE</c>): 2 on x86 (normal and SMM); 1 models a host whose KVM has
    /// no SMM address space, where QEMU registers no "kvm-smram" listener.
    /// </summary>
    public int SimulatedKvmAddressSpaces { get; init; } = 2;

    /// <summary>Memory-system switches (deliberate differences from QEMU 7.2); null for the defaults.</summary>
    public MemorySystemOptions? MemoryOptions { get; init; }

    /// <summary>Receives the chain of events while the machine is built and run; null for none.</summary>
    public Tracing.ChainTimeline? Timeline { get; init; }

    /// <summary>Add Memspace's demo MMIO device at <see cref="Devices.DemoDevice.DefaultAddress"/> (not part of QEMU's machines). Default on.</summary>
    public bool DemoDevice { get; init; } = true;

    /// <summary>Add a 16550 UART at port 0x3f8 (QEMU adds one unless <c>-nodefaults</c> or <c>-serial none</c>). Default on.</summary>
    public bool Serial { get; init; } = true;

    /// <summary>
    /// Build QEMU's platform devices on pc and q35 (interrupt controllers, timers, RTC/CMOS, keyboard
    /// controller, DMA, fw_cfg and the southbridge functions on PCI, see <see cref="Devices.PcPlatform"/>).
    /// Default on.
    /// </summary>
    public bool PlatformDevices { get; init; } = true;

    /// <summary>
    /// QEMU's <c>kernel-irqchip=on</c> (its KVM default): the PIC, PIT, I/O APIC and APIC are KVM's
    /// in-kernel models and their regions are named "kvm-pic", "kvm-elcr", "kvm-pit", "kvm-ioapic" and
    /// "kvm-apic-msi". Off: QEMU's userspace names (as under TCG). Default on.
    /// </summary>
    public bool KernelIrqchip { get; init; } = true;

    /// <summary>
    /// Host memory for the RAM backend ("pc.ram", "microvm.ram"), at least <see cref="RamSize"/> bytes,
    /// which the machine owns from then on; null maps anonymous memory. A snapshot restore passes the RAM
    /// file mapped copy-on-write (<see cref="Ram.HostMemory.FileCopyOnWrite"/>) so that guest pages are
    /// read from it lazily.
    /// </summary>
    public Ram.HostMemory? RamBackendMemory { get; init; }

    /// <summary>Add the ISA debug console at port 0x402 (QEMU's <c>-device isa-debugcon,iobase=0x402</c>), where SeaBIOS writes its log. Default off.</summary>
    public bool DebugConsole { get; init; }

    /// <summary>
    /// The host time, in nanoseconds, the device timers follow (the 8254 model, the HPET main counter,
    /// the ACPI PM timer); null for the monotonic clock. A clock that stands still makes saved device
    /// state reproducible (tests); a saved timer continues from its saved value on whatever clock the
    /// destination has.
    /// </summary>
    public Func<long>? DeviceClock { get; init; }

    /// <summary>
    /// With <see cref="MachineAccelerator.Simulated"/> and <see cref="KernelIrqchip"/>: the simulated VM keeps
    /// an in-kernel PIC pair, IOAPIC and PIT state in memory as KVM would, and the "kvm-" devices save and
    /// load theirs through it (<c>KVM_GET/SET_IRQCHIP</c>, <c>KVM_GET/SET_PIT2</c>), as on a real VM. Default off:
    /// the simulated VM serves no interrupt controller, and the devices' own models are what is saved.
    /// </summary>
    public bool SimulatedKernelIrqchip { get; init; }
}
