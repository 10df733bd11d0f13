using Memspace.Core;
using Memspace.Interop;
using Memspace.Listeners;

namespace Memspace.Kvm;

/// <summary>
/// The KVM accelerator of one machine (QEMU's <c>KVMState</c> as <c>kvm_init</c> leaves it): a VM, the
/// "kvm-memory" listener on the memory address space and the "kvm-io" listener on the I/O address
/// space, and the trace of every slot ioctl.
/// </summary>
/// <remarks>
/// Create it, as QEMU does, right after the memory system and its address spaces exist and
/// <em>before</em> the board adds RAM: registration replays the current view to the listener, which
/// is empty then, so no slot is set until the board's <c>region_add</c>s arrive. That is the answer to
/// the 2017 qemu-devel question: <c>configure_accelerator</c> registers listeners, not slots.
/// </remarks>
public sealed class KvmAccelerator : IMemoryAccelerator, IDisposable
{
    private readonly List<KvmSlotEvent> _trace = [];
    private readonly Lock _traceLock = new();

    private KvmAccelerator(MemorySystem system, IKvmVm vm, AddressSpace memory, AddressSpace? io, ulong maxSlotSize)
    {
        System = system;
        Vm = vm;
        MemorySpace = memory;
        IoSpace = io;
        MemoryListener = new KvmMemoryListener(this, asId: 0, "kvm-memory") { MaxSlotSize = maxSlotSize };
    }

    /// <summary>Creates a VM on <c>/dev/kvm</c> and registers the listeners.</summary>
    /// <param name="system">The machine's memory system.</param>
    /// <param name="memory">The memory address space ("memory").</param>
    /// <param name="io">The I/O address space ("I/O"), or null on machines without port I/O.</param>
    /// <param name="options">VM options; null for the defaults.</param>
    /// <exception cref="KvmUnavailableException">KVM cannot be used here; the message says why.</exception>
    public static KvmAccelerator Create(MemorySystem system, AddressSpace memory, AddressSpace? io, KvmVmOptions? options = null)
    {
        KvmVm vm = KvmVm.Create(options ?? new KvmVmOptions());
        return Attach(system, vm, memory, io, ulong.MaxValue);
    }

    /// <summary>
    /// Registers the listeners against <paramref name="vm"/>, for example a <see cref="SimulatedKvmVm"/>
    /// to see the slots KVM would be given without <c>/dev/kvm</c>.
    /// </summary>
    /// <param name="system">The machine's memory system.</param>
    /// <param name="vm">Where the ioctls go.</param>
    /// <param name="memory">The memory address space.</param>
    /// <param name="io">The I/O address space, or null.</param>
    /// <param name="maxSlotSize">Largest slot (QEMU's <c>kvm_max_slot_size</c>); larger sections are split.</param>
    public static KvmAccelerator Attach(MemorySystem system, IKvmVm vm, AddressSpace memory, AddressSpace? io, ulong maxSlotSize = ulong.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(vm);
        ArgumentNullException.ThrowIfNull(memory);
        var accel = new KvmAccelerator(system, vm, memory, io, maxSlotSize);
        memory.RegisterListener(accel.MemoryListener);
        if (io is not null)
        {
            accel.IoListener = new KvmIoListener(accel);
            io.RegisterListener(accel.IoListener);
        }
        system.Accelerator = accel;
        system.IoeventfdsHandledByAccelerator = true;
        return accel;
    }

    /// <inheritdoc/>
    public string Name => "KVM";

    /// <summary>The memory system the accelerator serves.</summary>
    public MemorySystem System { get; }

    /// <summary>Where the VM-level ioctls go.</summary>
    public IKvmVm Vm { get; }

    /// <summary>The VM on <c>/dev/kvm</c>, or null when <see cref="Vm"/> is simulated.</summary>
    public KvmVm? RealVm => Vm as KvmVm;

    /// <summary>The memory address space.</summary>
    public AddressSpace MemorySpace { get; }

    /// <summary>The I/O address space, or null.</summary>
    public AddressSpace? IoSpace { get; }

    /// <summary>The "kvm-memory" listener and its slot table.</summary>
    public KvmMemoryListener MemoryListener { get; }

    /// <summary>The "kvm-io" listener, or null without an I/O address space.</summary>
    public KvmIoListener? IoListener { get; private set; }

    /// <summary>The "kvm-smram" listener (KVM address space 1), once <see cref="RegisterSmramListener"/> has run.</summary>
    public KvmMemoryListener? SmramListener { get; private set; }

    /// <summary>The address space SMM code sees ("KVM-SMRAM"), once registered.</summary>
    public AddressSpace? SmramSpace { get; private set; }

    /// <summary>
    /// QEMU's <c>register_smram_listener</c> (x86, SMM enabled, at machine-init-done): registers a second
    /// memory listener, "kvm-smram", on <paramref name="smram"/> with KVM address space 1, whose slots
    /// carry 1 in bits 16 and up of their number. Registration replays the address space, so the slots
    /// appear at once.
    /// </summary>
    /// <param name="smram">The SMM view of memory (QEMU's "KVM-SMRAM" address space).</param>
    /// <exception cref="KvmException">The VM has a single address space (no <c>KVM_CAP_MULTI_ADDRESS_SPACE</c>), or a listener is already registered.</exception>
    public void RegisterSmramListener(AddressSpace smram)
    {
        ArgumentNullException.ThrowIfNull(smram);
        if (SmramListener is not null)
        {
            throw new KvmException("the kvm-smram listener is already registered");
        }
        if (Vm.AddressSpaces < 2)
        {
            throw new KvmException("this VM has one memory address space (no KVM_CAP_MULTI_ADDRESS_SPACE), so it cannot give SMM its own view");
        }
        SmramListener = new KvmMemoryListener(this, asId: 1, "kvm-smram") { MaxSlotSize = MemoryListener.MaxSlotSize };
        SmramSpace = smram;
        smram.RegisterListener(SmramListener);
    }

    /// <summary>Each memory listener with the address space whose slots it keeps: "kvm-memory" first, then "kvm-smram" once registered.</summary>
    public IEnumerable<(KvmMemoryListener Listener, AddressSpace Space)> SlotListeners
    {
        get
        {
            yield return (MemoryListener, MemorySpace);
            if (SmramListener is { } smram)
            {
                yield return (smram, SmramSpace!);
            }
        }
    }

    /// <summary>Every <c>KVM_SET_USER_MEMORY_REGION</c> so far, in order.</summary>
    public IReadOnlyList<KvmSlotEvent> Trace
    {
        get
        {
            lock (_traceLock)
            {
                return [.. _trace];
            }
        }
    }

    /// <summary>Raised after every slot ioctl, with QEMU's trace event.</summary>
    public event Action<KvmSlotEvent>? SlotIoctl;

    /// <summary>QEMU's <c>kvm_accel_has_memory</c>: a slot of the address space covers exactly this range.</summary>
    /// <param name="space">The address space.</param>
    /// <param name="start">First guest address.</param>
    /// <param name="size">Size.</param>
    public bool HasMemory(AddressSpace space, ulong start, UInt128 size)
    {
        KvmMemoryListener? listener = space == MemorySpace ? MemoryListener : space == SmramSpace ? SmramListener : null;
        if (listener is null)
        {
            return false;
        }
        ulong s = size > listener.MaxSlotSize ? listener.MaxSlotSize : (ulong)UInt128.Min(size, ulong.MaxValue);
        return listener.FindSlot(start, s) is not null;
    }

    internal void Traced(KvmSlotEvent e)
    {
        MemspaceEventSource.Log.MappingChanged();
        lock (_traceLock)
        {
            _trace.Add(e);
        }
        SlotIoctl?.Invoke(e);
    }

    /// <summary>QEMU's <c>kvm_set_ioeventfd_mmio</c>/<c>_pio</c>: only eventfd-backed notifiers can be given to KVM.</summary>
    internal void SetIoeventfd(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier, bool pio, bool assign)
    {
        if (notifier.Fd < 0)
        {
            return; // signalled by Memspace's dispatch when the write reaches userspace
        }
        uint flags = (matchData ? KvmAbi.IoeventfdFlagDatamatch : 0) | (pio ? KvmAbi.IoeventfdFlagPio : 0)
                     | (assign ? 0 : KvmAbi.IoeventfdFlagDeassign);
        int r = Vm.Ioeventfd(section.OffsetWithinAddressSpace, (uint)section.Size, matchData ? data : 0, notifier.Fd, flags);
        if (r < 0)
        {
            throw new KvmException($"KVM_IOEVENTFD {(assign ? "assign" : "deassign")} at 0x{section.OffsetWithinAddressSpace:x} failed: errno {-r}");
        }
    }

    /// <summary>Unregisters the listeners and closes the VM.</summary>
    public void Dispose()
    {
        MemorySpace.UnregisterListener(MemoryListener);
        if (IoListener is not null)
        {
            IoSpace!.UnregisterListener(IoListener);
        }
        if (SmramListener is not null)
        {
            SmramSpace!.UnregisterListener(SmramListener);
        }
        if (System.Accelerator == this)
        {
            System.Accelerator = null;
            System.IoeventfdsHandledByAccelerator = false;
        }
        (Vm as IDisposable)?.Dispose();
    }
}
