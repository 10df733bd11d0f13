using Memspace.Machines.Devices;
using Memspace.Regions;
using Memspace.Tracing;

namespace Memspace.Machines;

/// <summary>
/// What QEMU's x86 machines share (<c>X86MachineState</c>, <c>pc_memory_init</c>,
/// <c>x86_bios_rom_init</c>): the RAM backend split into "ram-below-4g" and "ram-above-4g", the
/// firmware in "pc.bios" with its "isa-bios" alias, the fw_cfg ACPI blobs, the SMM address space on
/// KVM, and Memspace's serial port and demo device.
/// </summary>
public abstract class X86Machine : Machine
{
    /// <summary>The least RAM an x86 board is built with (1 MiB).</summary>
    public const ulong MinRamSize = 1UL << 20;

    /// <summary>The most RAM an x86 board is built with (1 TiB; QEMU moves RAM above the HyperTransport hole beyond that, which is not modelled).</summary>
    public const ulong MaxRamSize = 1UL << 40;

    /// <summary>Size of the ACPI tables blob's RAM block (ACPI_BUILD_TABLE_MAX_SIZE).</summary>
    protected const ulong AcpiTablesMaxSize = 0x200000;

    /// <summary>Creates the machine (see <see cref="Machine.Create"/>).</summary>
    /// <param name="name">Machine type name.</param>
    /// <param name="options">Build options.</param>
    protected X86Machine(string name, MachineOptions options)
        : base(name, options)
    {
        if (options.RamSize < MinRamSize)
        {
            throw new MachineConfigurationException(nameof(MachineOptions.RamSize),
                $"{RamSize.Format(options.RamSize)} ({options.RamSize} bytes) of RAM is too little: {name} needs at least 1 MiB");
        }
        if (options.RamSize > MaxRamSize)
        {
            throw new MachineConfigurationException(nameof(MachineOptions.RamSize),
                $"{RamSize.Format(options.RamSize)} of RAM is more than 1 TiB, which Memspace's {name} does not model (QEMU moves RAM above the AMD HyperTransport hole there)");
        }
        (BelowFourGiB, AboveFourGiB) = SplitRam(options.RamSize);
    }

    /// <summary>The RAM backend ("pc.ram", "microvm.ram"): the one RAMBlock that holds guest RAM.</summary>
    public MemoryRegion Ram { get; private set; } = null!;

    /// <summary>RAM mapped below 4 GiB.</summary>
    public ulong BelowFourGiB { get; }

    /// <summary>RAM mapped from 4 GiB up.</summary>
    public ulong AboveFourGiB { get; }

    /// <summary>"ram-below-4g".</summary>
    public MemoryRegion RamBelowFourGiB { get; private set; } = null!;

    /// <summary>"ram-above-4g", or null when all RAM fits below.</summary>
    public MemoryRegion? RamAboveFourGiB { get; private set; }

    /// <summary>"pci", the PCI address space under system memory at priority -1, or null (microvm).</summary>
    public MemoryRegion? PciMemory { get; protected set; }

    /// <summary>"pc.bios", the firmware, ending at 4 GiB.</summary>
    public MemoryRegion Bios { get; private set; } = null!;

    /// <summary>"isa-bios", the firmware's last 128 KiB (at most) below 1 MiB.</summary>
    public MemoryRegion IsaBios { get; private set; } = null!;

    /// <summary>"pc.rom", the option ROM area at 0xc0000, or null (microvm).</summary>
    public MemoryRegion? OptionRom { get; private set; }

    /// <summary>The host bridge, or null (microvm).</summary>
    public PciHostBridge? HostBridge { get; protected set; }

    /// <summary>The devices pc and q35 share, or null (microvm, or <see cref="MachineOptions.PlatformDevices"/> off).</summary>
    public PcPlatform? Platform { get; private set; }

    /// <summary>The SMM view of memory (QEMU's <c>/machine/smram</c>), or null.</summary>
    public virtual MemoryRegion? Smram => null;

    /// <summary>"KVM-SMRAM", the address space KVM's SMM slots come from, when SMM is on and a KVM accelerator is attached.</summary>
    public AddressSpace? SmramSpace { get; private set; }

    /// <summary>The UART at 0x3f8, or null.</summary>
    public Serial16550? Serial { get; private set; }

    /// <summary>The userspace 8259 pair, on machines whose accelerator has no in-kernel irqchip (Unicorn); else null.</summary>
    public Pic8259Pair? Pic { get; private set; }

    /// <summary>The userspace 8254 timer driving IRQ 0, with <see cref="Pic"/>; else null.</summary>
    public Pit8254? Pit { get; private set; }

    /// <inheritdoc/>
    protected override Vcpus.IInterruptController? InterruptController => Pic;

    /// <summary>The demo MMIO device, or null.</summary>
    internal DemoDevice? Demo { get; private set; }

    /// <summary>Name of the RAM backend.</summary>
    protected abstract string RamId { get; }

    /// <summary>Size of the firmware image used when <see cref="MachineOptions.Firmware"/> is null.</summary>
    protected virtual int DefaultFirmwareSize => 256 * 1024;

    /// <summary>Used size of the ACPI tables blob QEMU 7.2 builds for this machine.</summary>
    protected virtual ulong AcpiTablesSize => 0x20000;

    /// <summary>The machine's rule for RAM below and above 4 GiB.</summary>
    /// <param name="ramSize">Total RAM.</param>
    protected abstract (ulong Below, ulong Above) SplitRam(ulong ramSize);

    /// <summary>Creates the RAM backend (QEMU's <c>create_default_memdev</c>, before board init).</summary>
    protected void CreateRamBackend()
    {
        Ram = MemoryRegion.CreateRam(System, RamId, Options.RamSize,
            ram: Options.RamBackendMemory is { } memory ? new Memspace.Ram.RamBlockOptions { Memory = memory } : null);
    }

    /// <summary>The vCPU's memory address space ("cpu-memory-0", same root as "memory", so it shares the view).</summary>
    protected void CreateCpuAddressSpaces()
    {
        AddressSpace cpu = System.CreateAddressSpace(SystemMemory, "cpu-memory-0");
        Trace(ChainStructure.AddressSpace, "cpu0", $"cpu_address_space_init \"{cpu.Name}\" rooted at 'system'");
    }

    /// <summary>The RAM part of <c>pc_memory_init</c> / <c>microvm_memory_init</c>.</summary>
    protected void MapRam()
    {
        RamBelowFourGiB = MemoryRegion.CreateAlias(System, "ram-below-4g", Ram, 0, BelowFourGiB);
        SystemMemory.AddSubregion(0, RamBelowFourGiB);
        if (AboveFourGiB > 0)
        {
            RamAboveFourGiB = MemoryRegion.CreateAlias(System, "ram-above-4g", Ram, BelowFourGiB, AboveFourGiB);
            SystemMemory.AddSubregion(1UL << 32, RamAboveFourGiB);
        }
    }

    /// <summary>
    /// QEMU's <c>x86_bios_rom_init</c>: "pc.bios" at 4 GiB minus its size and "isa-bios" (its last
    /// 128 KiB at most) ending at 1 MiB with priority 1, both read-only unless <paramref name="ramFirmware"/>.
    /// </summary>
    /// <param name="romMemory">Where they go ("pci", or "system" without PCI).</param>
    /// <param name="ramFirmware">Firmware stays writable (isapc, microvm).</param>
    protected void InitBios(MemoryRegion romMemory, bool ramFirmware)
    {
        byte[] image = Options.Firmware ?? DefaultFirmware(DefaultFirmwareSize);
        if (image.Length == 0 || image.Length % 65536 != 0)
        {
            throw new ArgumentException($"firmware image is {image.Length} bytes; it must be a non-zero multiple of 64 KiB", nameof(Options));
        }
        ulong size = (ulong)image.Length;
        Bios = MemoryRegion.CreateRam(System, "pc.bios", size);
        if (!ramFirmware)
        {
            Bios.SetReadOnly(true);
        }
        Bios.RamBlock!.Write(0, image);
        ulong isaSize = Math.Min(size, 128 * 1024);
        IsaBios = MemoryRegion.CreateAlias(System, "isa-bios", Bios, size - isaSize, isaSize);
        romMemory.AddSubregion(0x100000 - isaSize, IsaBios, 1);
        if (!ramFirmware)
        {
            IsaBios.SetReadOnly(true);
        }
        romMemory.AddSubregion((1UL << 32) - size, Bios);
    }

    /// <summary>The rest of <c>pc_memory_init</c>: "pc.rom", 128 KiB at 0xc0000 with priority 1, read-only with PCI.</summary>
    /// <param name="romMemory">Where it goes.</param>
    protected void InitOptionRom(MemoryRegion romMemory)
    {
        OptionRom = MemoryRegion.CreateRam(System, "pc.rom", 0x20000);
        OptionRom.SetReadOnly(true);
        romMemory.AddSubregion(0xc0000, OptionRom, 1);
    }

    /// <summary>
    /// The memory part of <c>pc_init1</c> and <c>pc_q35_init</c>: RAM backend, the vCPU's address space,
    /// "pci", <c>pc_memory_init</c> (RAM split, firmware, pc.rom), then the host bridge, then
    /// Memspace's devices.
    /// </summary>
    /// <param name="createHostBridge">Creates and maps the machine's host bridge.</param>
    /// <param name="createIsaBridge">Creates the southbridge function that carries the ISA bus (PIIX3, ICH9 LPC).</param>
    /// <param name="createFunctions">Creates and maps the other southbridge functions and their blocks.</param>
    protected void InitPcBoard(Func<PciHostBridge> createHostBridge, Action? createIsaBridge = null, Action? createFunctions = null)
    {
        ArgumentNullException.ThrowIfNull(createHostBridge);
        CreateRamBackend();
        CreateCpuAddressSpaces();
        PciMemory = MemoryRegion.CreateContainer(System, "pci", ulong.MaxValue);
        MapRam();
        InitBios(PciMemory, ramFirmware: false);
        InitOptionRom(PciMemory);
        HostBridge = createHostBridge();
        if (Options.PlatformDevices)
        {
            // On Unicorn the interrupt controllers and timer are userspace models that deliver interrupts,
            // under QEMU's TCG names (no in-kernel irqchip).
            CreateUserspaceIrqchip();
            Platform = new PcPlatform(this, Options.KernelIrqchip && Unicorn is null, Options.DebugConsole)
            {
                MapPicInstead = Pic is { } pic ? pic.MapInto : null,
                PitInstead = Pit?.Region,
            };
            createIsaBridge?.Invoke();
            Platform.MapInterruptControllers(SystemMemory, SystemIo);
            Platform.MapBasicDevices(SystemMemory, SystemIo);
            createFunctions?.Invoke();
            Platform.FwCfg.AttachDma(Memory);
            Platform.MapLateDevices(SystemIo);
        }
        AddMemspaceDevices();
    }

    /// <inheritdoc/>
    protected override Kvm.KvmVmOptions KvmOptions()
        => Options.PlatformDevices && Options.KernelIrqchip && this is not MicrovmMachine
            ? new Kvm.KvmVmOptions
            {
                DevicePath = Options.KvmDevicePath,
                InKernelIrqchip = true,
                IdentityMapAddress = Firmware.E820Table.KvmIdentityMapAddress,
                TssAddress = Firmware.E820Table.KvmIdentityMapAddress + 0x1000,
            }
            : base.KvmOptions();

    /// <summary>System reset: every PCI function (the host bridge included) and the platform devices with a reset handler.</summary>
    public override void Reset()
    {
        if (HostBridge is { } bridge)
        {
            using (System.Transaction())
            {
                bridge.RootBus.Reset();
            }
        }
        Platform?.Reset();
    }

    /// <summary>On Unicorn: the 8259 pair and the 8254 whose counter 0 drives IRQ 0 (not yet mapped).</summary>
    private void CreateUserspaceIrqchip()
    {
        if (Unicorn is null || Pic is not null)
        {
            return;
        }
        var pic = new Pic8259Pair(System);
        Pit8254 pit = Own(new Pit8254(System, () => pic.Pulse(0)));
        pic.Waker = () => pit.Running;
        Pic = pic;
        Pit = pit;
    }

    /// <summary>
    /// Memspace's devices: the UART at 0x3f8 and the demo device; on Unicorn also the interrupt
    /// controller pair and the interval timer in userspace ("pic", "elcr", "pit"), which KVM keeps in
    /// the kernel.
    /// </summary>
    protected void AddMemspaceDevices()
    {
        if (Unicorn is not null && Platform is null)
        {
            CreateUserspaceIrqchip();
            Pic!.MapInto(SystemIo);
            SystemIo.AddSubregion(0x40, Pit!.Region);
        }
        if (Options.Serial)
        {
            Serial = new Serial16550(System);
            SystemIo.AddSubregion(Serial16550.Com1, Serial.Region);
        }
        if (Options.DemoDevice)
        {
            Demo = new DemoDevice(System);
            SystemMemory.AddSubregion(DemoDevice.DefaultAddress, Demo.Region);
        }
    }

    /// <summary>
    /// Registers every device's state with the machine, in a fixed order: the PCI functions by devfn
    /// (the host bridge first), the platform devices, the board's own ISA devices, the userspace 8259
    /// pair and 8254 (Unicorn), the UART and the demo device. Names are QEMU-like: "00:1f.0/ICH9-LPC" for a
    /// PCI function, "name@address" for the rest.
    /// </summary>
    private void RegisterDeviceStates()
    {
        if (HostBridge is { } bridge)
        {
            foreach (PciDevice f in bridge.RootBus.Functions)
            {
                RegisterDeviceState(f);
            }
        }
        Platform?.RegisterDeviceStates(this);
        foreach (State.IDeviceState device in BoardDeviceStates())
        {
            RegisterDeviceState(device);
        }
        if (Pic is { } pic)
        {
            RegisterDeviceState(pic);
        }
        if (Pit is { } pit)
        {
            RegisterDeviceState(pit);
        }
        if (Serial is { } serial)
        {
            RegisterDeviceState(serial);
        }
        if (Demo is { } demo)
        {
            RegisterDeviceState(demo);
        }
    }

    /// <summary>The board's devices with state that are neither PCI functions nor platform devices (the pc's floppy controller).</summary>
    protected virtual IEnumerable<State.IDeviceState> BoardDeviceStates() => [];

    /// <inheritdoc/>
    protected override void MachineDone()
    {
        RegisterDeviceStates();
        // acpi_setup: the fw_cfg blobs live in resizeable RAM blocks that are never mapped. Memspace
        // builds no ACPI tables; the blocks have QEMU 7.2's sizes so that the RAM list is QEMU's.
        AddFwCfgBlob("/rom@etc/acpi/tables", AcpiTablesSize, AcpiTablesMaxSize);
        AddFwCfgBlob("/rom@etc/table-loader", 0x1000, 0x10000);
        AddFwCfgBlob("/rom@etc/acpi/rsdp", 0x1000, 0x1000);
        if (Platform is { } platform)
        {
            Firmware.FirmwareConfig.Populate(this, platform.FwCfg, kvm: Kvm is not null);
        }
        if (Options.Smm && Kvm is { } kvm && kvm.Vm.AddressSpaces > 1)
        {
            RegisterSmramListener(kvm);
        }
    }

    /// <summary>
    /// QEMU's <c>register_smram_listener</c>: "mem-container-smram" holds system memory ("mem-smram",
    /// priority 0) and the machine's SMRAM (priority 10), which it enables; the "KVM-SMRAM" address
    /// space over it gets the "kvm-smram" listener (KVM address space 1).
    /// </summary>
    private void RegisterSmramListener(Kvm.KvmAccelerator kvm)
    {
        MemoryRegion root = MemoryRegion.CreateContainer(System, "mem-container-smram", ulong.MaxValue);
        root.SetEnabled(true);
        MemoryRegion all = MemoryRegion.CreateAlias(System, "mem-smram", SystemMemory, 0, ulong.MaxValue);
        root.AddSubregion(0, all, 0);
        all.SetEnabled(true);
        if (Smram is { } smram)
        {
            root.AddSubregion(0, smram, 10);
            smram.SetEnabled(true);
        }
        SmramSpace = System.CreateAddressSpace(root, "KVM-SMRAM");
        if (Timeline is { } t)
        {
            t.FollowSpace(SmramSpace);
        }
        kvm.RegisterSmramListener(SmramSpace);
    }

    private void AddFwCfgBlob(string name, ulong used, ulong max)
        => MemoryRegion.CreateRam(System, name, used, ram: new Ram.RamBlockOptions { MaxSize = max });

    private static byte[] DefaultFirmware(int size)
    {
        var image = new byte[size];
        image.AsSpan().Fill(0xf4);
        return image;
    }
}
