using Memspace.Kvm;
using Memspace.Machines.State;
using Memspace.Regions;
using Memspace.Tracing;
using Memspace.Unicorn;
using Memspace.Vcpus;

namespace Memspace.Machines;

/// <summary>
/// A board built with the memory API in QEMU's order: the memory system and its "memory" and "I/O"
/// address spaces first, then the accelerator and its listeners (on empty views, so no slot is set
/// yet), then the board's regions, then machine-init-done work, then a reset. Every structure of
/// the chain is reachable from here.
/// </summary>
public abstract class Machine : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly List<IDeviceState> _stateDevices = [];
    private readonly List<string> _statelessDevices = [];
    private bool _disposed;

    /// <summary>Creates the memory system and the two address spaces; <see cref="Create"/> does the rest.</summary>
    /// <param name="name">Machine type name.</param>
    /// <param name="options">Build options.</param>
    protected Machine(string name, MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        Options = options;
        System = new MemorySystem(options.MemoryOptions ?? new MemorySystemOptions());
        SystemMemory = MemoryRegion.CreateContainer(System, "system", MemoryRegion.Size2To64);
        // QEMU's unassigned_io_ops: ports nobody claims read all ones and ignore writes.
        SystemIo = MemoryRegion.CreateIo(System, "io", 0x10000, new MemoryRegionOps
        {
            Read = (_, _) => ulong.MaxValue,
            Write = (_, _, _) => { },
        });
        Memory = System.CreateAddressSpace(SystemMemory, "memory");
        Io = System.CreateAddressSpace(SystemIo, "I/O");
    }

    /// <summary>The machine types Memspace builds.</summary>
    public static IReadOnlyList<string> Names { get; } = ["pc", "q35", "microvm"];

    /// <summary>Machine type name ("pc", "q35", "microvm").</summary>
    public string Name { get; }

    /// <summary>What QEMU calls this machine.</summary>
    public abstract string Description { get; }

    /// <summary>Build options.</summary>
    public MachineOptions Options { get; }

    /// <summary>The memory system (QEMU's globals of <c>memory.c</c>).</summary>
    public MemorySystem System { get; }

    /// <summary>"system", the root of the memory address space (<c>get_system_memory()</c>).</summary>
    public MemoryRegion SystemMemory { get; }

    /// <summary>"io", the root of the I/O address space (<c>get_system_io()</c>).</summary>
    public MemoryRegion SystemIo { get; }

    /// <summary>The "memory" address space (<c>address_space_memory</c>).</summary>
    public AddressSpace Memory { get; }

    /// <summary>The "I/O" address space (<c>address_space_io</c>).</summary>
    public AddressSpace Io { get; }

    /// <summary>The accelerator (real or simulated KVM), or null with <see cref="MachineAccelerator.None"/>.</summary>
    public KvmAccelerator? Kvm { get; private set; }

    /// <summary>The Unicorn accelerator, with <see cref="MachineAccelerator.Unicorn"/>; null otherwise.</summary>
    public UnicornAccelerator? Unicorn { get; private set; }

    /// <summary>Whether guests can run on this machine (real KVM or Unicorn).</summary>
    public bool CanRunGuest => Kvm?.RealVm is not null || Unicorn is not null;

    /// <summary>Why KVM is not used although it was asked for if available, or null.</summary>
    public string? KvmUnavailableReason { get; private set; }

    /// <summary>Where the chain of events goes, or null.</summary>
    public ChainTimeline? Timeline => Options.Timeline;

    /// <summary>Builds a machine.</summary>
    /// <param name="name">"pc", "q35" or "microvm".</param>
    /// <param name="options">Build options; null for the defaults (512 MiB, SMM on, simulated KVM).</param>
    /// <exception cref="ArgumentException">Unknown machine name or invalid options; the message says which.</exception>
    /// <exception cref="KvmUnavailableException">KVM was required and cannot be used.</exception>
    public static Machine Create(string name, MachineOptions? options = null)
    {
        options ??= new MachineOptions();
        Machine machine = name switch
        {
            "pc" => new PcMachine(options),
            "q35" => new Q35Machine(options),
            "microvm" => new MicrovmMachine(options),
            _ => throw new ArgumentException($"unknown machine '{name}'; Memspace builds {string.Join(", ", Names)}", nameof(name)),
        };
        try
        {
            machine.Build();
        }
        catch
        {
            machine.Dispose();
            throw;
        }
        return machine;
    }

    /// <summary>
    /// Creates vCPU <paramref name="index"/> on the real VM (or Unicorn), its exits served by <see cref="Memory"/> and
    /// <see cref="Io"/>, in the x86 reset state (CS base 0xffff0000, IP 0xfff0; on Unicorn CS base 0xf0000,
    /// which the "isa-bios" alias makes equivalent).
    /// </summary>
    /// <param name="index">vCPU id.</param>
    /// <exception cref="KvmUnavailableException">The machine has no real KVM VM.</exception>
    public Vcpu CreateVcpu(int index = 0)
    {
        Vcpu vcpu;
        if (Unicorn is { } unicorn)
        {
            vcpu = unicorn.CreateVcpu(index, Memory, Io);
        }
        else if (Kvm?.RealVm is { } vm)
        {
            vcpu = vm.CreateVcpu(index, Memory, Io);
        }
        else
        {
            throw new KvmUnavailableException(KvmUnavailableReason ?? "this machine was built without a real KVM VM");
        }
        try
        {
            // The architectural reset state (KVM starts vCPUs there; set it anyway, for a second boot).
            vcpu.SetResetState();
        }
        catch
        {
            vcpu.Dispose();
            throw;
        }
        if (vcpu.Backend is IInterruptibleBackend interruptible)
        {
            interruptible.InterruptController = InterruptController;
        }
        Timeline?.Follow(vcpu);
        return vcpu;
    }

    /// <summary>
    /// The devices whose registers a snapshot or a migration saves, in the order they were registered
    /// (the order they are saved and loaded in).
    /// </summary>
    public IReadOnlyList<IDeviceState> StateDevices => _stateDevices;

    /// <summary>
    /// Devices on this machine whose registers cannot be saved. A machine with any of them refuses to
    /// be snapshotted or migrated, naming them, rather than losing their state silently.
    /// </summary>
    public IReadOnlyList<string> StatelessDevices => _statelessDevices;

    /// <summary>Adds <paramref name="device"/> to the state a snapshot or a migration saves.</summary>
    /// <param name="device">The device.</param>
    /// <exception cref="ArgumentException">Another device already uses its <see cref="IDeviceState.StateName"/>.</exception>
    public void RegisterDeviceState(IDeviceState device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (_stateDevices.Exists(d => d.StateName == device.StateName))
        {
            throw new ArgumentException($"a device with state name '{device.StateName}' is already registered", nameof(device));
        }
        _stateDevices.Add(device);
    }

    /// <summary>Records a device whose registers cannot be saved, so that snapshots and migrations refuse this machine.</summary>
    /// <param name="name">The device, as the refusal should name it.</param>
    public void RegisterStatelessDevice(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _statelessDevices.Add(name);
    }

    /// <summary>The userspace interrupt controller a vCPU without an in-kernel irqchip follows, or null.</summary>
    protected virtual IInterruptController? InterruptController => null;

    /// <summary>Keeps <paramref name="device"/> to dispose with the machine.</summary>
    /// <param name="device">A device with host resources (a timer).</param>
    protected T Own<T>(T device) where T : IDisposable
    {
        _owned.Add(device);
        return device;
    }

    /// <summary>System reset: devices with a reset handler put their registers back (QEMU's <c>qemu_system_reset</c>).</summary>
    public virtual void Reset()
    {
    }

    /// <summary>Closes the VM and frees guest memory.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (IDisposable d in _owned)
        {
            d.Dispose();
        }
        Kvm?.Dispose();
        Unicorn?.Dispose();
        System.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Records an event in the timeline, if there is one.</summary>
    /// <param name="structure">The structure it belongs to.</param>
    /// <param name="source">Who reports it.</param>
    /// <param name="text">What happened.</param>
    public void Trace(ChainStructure structure, string source, string text) => Timeline?.Record(structure, source, text);

    private void Phase(MachinePhase phase, ChainStructure structure, string source, string text)
        => Timeline?.Record(structure, source, new PhaseEvent(phase, text));

    /// <summary>QEMU's board init (<c>MachineClass::init</c>): creates and maps the board's regions.</summary>
    protected abstract void InitBoard();

    /// <summary>Machine-init-done notifiers (ACPI blobs, the SMRAM listener).</summary>
    protected virtual void MachineDone()
    {
    }

    private void Build()
    {
        if (Timeline is { } t)
        {
            t.Record(ChainStructure.AddressSpace, "machine", new PhaseEvent(MachinePhase.MemoryMapInit,
                $"memory_map_init: \"memory\" rooted at 'system', \"I/O\" rooted at 'io' ({Name}, {Machines.RamSize.Format(Options.RamSize)})"));
            t.Follow(System, Memory, Io);
        }
        AttachAccelerator();
        Phase(MachinePhase.BoardInit, ChainStructure.MemoryRegion, "machine", $"board init: {Description}");
        InitBoard();
        Phase(MachinePhase.MachineInitDone, ChainStructure.MemoryRegion, "machine", "machine init done");
        MachineDone();
        Phase(MachinePhase.Reset, ChainStructure.MemoryRegion, "machine", "system reset");
        Reset();
    }

    /// <summary>
    /// How the real VM is set up. Boards with QEMU's platform devices and <see cref="MachineOptions.KernelIrqchip"/>
    /// get KVM's in-kernel PIC, IOAPIC, LAPIC and PIT, and QEMU's identity map at 0xfeffc000 with the TSS
    /// after it (<c>kvm_arch_init</c>); other boards keep HLT exiting to userspace.
    /// </summary>
    protected virtual KvmVmOptions KvmOptions() => new() { DevicePath = Options.KvmDevicePath };

    private void AttachAccelerator()
    {
        switch (Options.Accelerator)
        {
            case MachineAccelerator.None:
                return;
            case MachineAccelerator.Simulated:
                Kvm = KvmAccelerator.Attach(System, new SimulatedKvmVm(addressSpaces: Options.SimulatedKvmAddressSpaces,
                    inKernelIrqchip: Options.SimulatedKernelIrqchip && KvmOptions().InKernelIrqchip), Memory, Io);
                break;
            case MachineAccelerator.Kvm:
                Kvm = KvmAccelerator.Create(System, Memory, Io, KvmOptions());
                break;
            case MachineAccelerator.Unicorn:
                Unicorn = UnicornAccelerator.Create(System, Memory, Io);
                Timeline?.Follow(Unicorn);
                Trace(ChainStructure.UnicornMapping, "Unicorn", "uc_open(UC_ARCH_X86, UC_MODE_32); listener \"unicorn-memory\" registered on an empty view, so nothing mapped yet");
                return;
            case MachineAccelerator.KvmIfAvailable:
                if (KvmVm.IsAvailable(out string reason, Options.KvmDevicePath))
                {
                    Kvm = KvmAccelerator.Create(System, Memory, Io, KvmOptions());
                }
                else
                {
                    KvmUnavailableReason = reason;
                    Kvm = KvmAccelerator.Attach(System, new SimulatedKvmVm(addressSpaces: Options.SimulatedKvmAddressSpaces), Memory, Io);
                }
                break;
            default:
                throw new ArgumentException($"unknown accelerator {Options.Accelerator}");
        }
        Timeline?.Follow(Kvm);
        Phase(MachinePhase.AcceleratorInit, ChainStructure.KVMSlot, "KVM", Kvm.RealVm is null
            ? "kvm_init (simulated VM): listeners \"kvm-memory\" and \"kvm-io\" registered on empty views, so no slot yet"
            : "kvm_init: KVM_CREATE_VM; listeners \"kvm-memory\" and \"kvm-io\" registered on empty views, so no slot yet");
    }
}
