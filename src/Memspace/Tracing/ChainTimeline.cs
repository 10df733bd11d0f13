using System.Diagnostics;
using Memspace.Kvm;
using Memspace.Ram;
using Memspace.Unicorn;
using Memspace.Vcpus;

namespace Memspace.Tracing;

/// <summary>
/// The chain from a board's regions to KVM as it happens: listener callbacks and their sections,
/// rendered views, RAM blocks, slot ioctls and the slot table, vCPU exits and device register
/// writes, in order, each tagged with its <see cref="ChainStructure"/>. Thread-safe.
/// </summary>
public sealed class ChainTimeline
{
    private readonly List<ChainEvent> _events = [];
    private readonly Lock _lock = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Everything recorded so far, in order.</summary>
    public IReadOnlyList<ChainEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>Raised for every event as it is recorded (on the thread that caused it).</summary>
    public event Action<ChainEvent>? Recorded;

    /// <summary>Records one event.</summary>
    /// <param name="structure">The structure it belongs to.</param>
    /// <param name="source">Who reports it.</param>
    /// <param name="payload">What happened.</param>
    public void Record(ChainStructure structure, string source, ChainPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ChainEvent e;
        lock (_lock)
        {
            e = new ChainEvent(_events.Count + 1, _clock.Elapsed, structure, source, payload);
            _events.Add(e);
        }
        Recorded?.Invoke(e);
    }

    /// <summary>Records a free-form step (a <see cref="NoteEvent"/>).</summary>
    /// <param name="structure">The structure it belongs to.</param>
    /// <param name="source">Who reports it.</param>
    /// <param name="text">What happened.</param>
    public void Record(ChainStructure structure, string source, string text) => Record(structure, source, new NoteEvent(text));

    /// <summary>
    /// Follows a memory system: each address space's listener callbacks (a listener named "timeline"),
    /// every commit's rendered views, and RAM blocks joining and leaving the RAM list.
    /// </summary>
    /// <param name="system">The memory system.</param>
    /// <param name="spaces">Address spaces whose listener callbacks to record.</param>
    public void Follow(MemorySystem system, params AddressSpace[] spaces)
    {
        ArgumentNullException.ThrowIfNull(system);
        foreach (AddressSpace space in spaces)
        {
            FollowSpace(space);
        }
        system.TopologyCommitted += commit =>
        {
            // One event per commit: which view each address space now uses (shared views listed once).
            var views = system.AddressSpaces.GroupBy(s => s.CurrentMap)
                .Select(g => new RenderedView([.. g.Select(s => s.Name)], g.Key.Generation, g.Key.Root?.Name ?? "(none)", g.Key.Count))
                .ToList();
            Record(ChainStructure.FlatView, "commit", new CommitEvent(commit, views));
        };
        system.RegionChanged += (region, what) =>
            Record(ChainStructure.MemoryRegion, "MemoryRegion", new RegionChangeEvent(region.Name, what.Split(' ', 2)[0], what));
        system.RamList.BlockAdded += b => Record(ChainStructure.RAMBlock, "RAMList",
            new RamBlockEvent(b.IdStr, true, b.Offset, b.UsedLength, b.MaxLength, (ulong)b.Host));
        system.RamList.BlockRemoved += b => Record(ChainStructure.RAMList, "RAMList",
            new RamBlockEvent(b.IdStr, false, b.Offset, b.UsedLength, b.MaxLength, (ulong)b.Host));
    }

    /// <summary>Records the listener callbacks of one more address space.</summary>
    /// <param name="space">The address space.</param>
    public void FollowSpace(AddressSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        Record(ChainStructure.AddressSpace, space.Name, new AddressSpaceEvent(space.Name, space.Root.Name));
        space.RegisterListener(new TimelineListener(this, space.Name));
    }

    /// <summary>Follows the slot ioctls of a KVM accelerator and the slot table they leave.</summary>
    /// <param name="kvm">The accelerator.</param>
    public void Follow(KvmAccelerator kvm)
    {
        ArgumentNullException.ThrowIfNull(kvm);
        kvm.SlotIoctl += e =>
        {
            Record(ChainStructure.KvmUserspaceMemoryRegion, "KVM", new SlotIoctlEvent(e));
            Record(ChainStructure.KVMSlot, "KVM", new SlotEvent(e.Slot, e.Gpa, e.Size, e.Flags));
        };
    }

    /// <summary>Follows the changes of a Unicorn accelerator's memory map.</summary>
    /// <param name="unicorn">The accelerator.</param>
    public void Follow(UnicornAccelerator unicorn)
    {
        ArgumentNullException.ThrowIfNull(unicorn);
        unicorn.MapChanged += e => Record(ChainStructure.UnicornMapping, "Unicorn", new UnicornMapChangeEvent(e));
    }

    /// <summary>Follows a vCPU's exits.</summary>
    /// <param name="vcpu">The vCPU.</param>
    public void Follow(Vcpu vcpu)
    {
        ArgumentNullException.ThrowIfNull(vcpu);
        Record(ChainStructure.VcpuExit, $"vcpu{vcpu.Index}", new PhaseEvent(MachinePhase.GuestStart,
            $"vCPU {vcpu.Index} created: from here on the guest's exits drive the changes"));
        vcpu.Exited += exit =>
        {
            AddressSpace? space = exit.Kind switch
            {
                VcpuExitKind.Io => vcpu.Io,
                VcpuExitKind.Mmio => vcpu.Memory,
                _ => null,
            };
            string? region = space?.CurrentMap.Lookup(exit.Address)?.Region.Name;
            Record(ChainStructure.VcpuExit, $"vcpu{vcpu.Index}", new VcpuExitEvent(vcpu.Index, exit, space?.Name, region));
        };
    }
}
