using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Regions;
using Memspace.Tracing;

namespace Memspace.Tests.Tracing;

/// <summary>The summary `memspace run` starts with, computed from timelines of real (simulated-KVM) runs and from synthetic ones.</summary>
public class ChainSummaryTests
{
    [Theory]
    [InlineData("q35")]
    [InlineData("pc")]
    public void ListenersComeFirstAndTheFirstSlotComesWithRamBelow4g(string name)
    {
        var timeline = new ChainTimeline();
        using Machine machine = Machine.Create(name, new MachineOptions { Timeline = timeline });
        ChainSummary s = ChainSummary.Of(timeline.Events);

        Assert.NotNull(s.AcceleratorInit);
        Assert.Equal(0, s.MappingsAtAcceleratorInit);
        Assert.Contains(s.ViewsAtAcceleratorInit, v => v is { AddressSpace: "memory", RamSections: 0 });
        FirstMapping first = Assert.IsType<FirstMapping>(s.First);
        Assert.Equal(MachinePhase.BoardInit, first.Phase);
        Assert.Equal("ram-below-4g", first.Change?.Region);
        Assert.Equal("region_add", first.Section?.Callback);
        Assert.Equal("pc.ram", first.Section?.Region);
        // The first ioctl the accelerator itself recorded is the one the summary names.
        Assert.Equal(machine.Kvm!.Trace[0], ((SlotIoctlEvent)first.Mapping.Payload).Ioctl);
        Assert.True(first.Commit >= 1);
        Assert.Equal(machine.Kvm.Trace.Count, s.Mappings);
        Assert.Equal(s.Mappings, s.BoardMappings);
        Assert.Equal(0, s.GuestMappings);
        Assert.False(s.GuestStarted);
        Assert.Equal((int)machine.System.CommitCount, s.Commits);
        Assert.InRange(s.CommitsWithoutChange, 1, s.Commits - 1);
        Assert.Equal("KVM_SET_USER_MEMORY_REGION", s.MappingCall);

        IReadOnlyList<string> text = s.Describe();
        Assert.Contains(text, l => l.StartsWith($"First slot: commit #{first.Commit} during board init, when the board mapped 'ram-below-4g'", StringComparison.Ordinal));
        Assert.Contains(text, l => l.StartsWith($"{s.Mappings} KVM_SET_USER_MEMORY_REGION calls in all: {s.Mappings} by the board (board init ", StringComparison.Ordinal));
        Assert.Contains("Guest exits: none, the guest did not run.", text);
    }

    [Fact]
    public void GuestExitsAreNamedWithTheSlotIoctlsTheirServiceCaused()
    {
        using var run = new GuestScenario();
        Assert.Equal(VcpuStopReason.Halted, run.Stop?.Reason);
        ChainSummary s = ChainSummary.Of(run.Timeline.Events);
        IReadOnlyList<KvmSlotEvent> trace = run.Machine.Kvm!.Trace;

        Assert.True(s.GuestStarted);
        Assert.Equal(run.BoardIoctls, s.BoardMappings);
        Assert.Equal(trace.Count - run.BoardIoctls, s.GuestMappings);
        Assert.True(s.GuestMappings > 0);
        Assert.Equal(10, s.Exits);
        Assert.Contains((VcpuExitKind.Io, 9), s.ExitsByKind);
        Assert.Contains((VcpuExitKind.Halt, 1), s.ExitsByKind);
        Assert.Equal(0, s.UnattributedGuestMappings);

        // Exactly the two PAM writes changed slots, each with what the host bridge made of it.
        Assert.Equal(2, s.GuestCauses.Count);
        (GuestCause shadow, GuestCause protect) = (s.GuestCauses[0], s.GuestCauses[1]);
        Assert.Equal(new VcpuExit(VcpuExitKind.Io, 0xcfc, 1, 1, true, 0x30), ((VcpuExitEvent)shadow.Exit.Payload).Exit);
        Assert.Equal(new VcpuExit(VcpuExitKind.Io, 0xcfc, 1, 1, true, 0x10), ((VcpuExitEvent)protect.Exit.Payload).Exit);
        Assert.Contains(shadow.Effects, e => e.StartsWith("mch: PAM register 0x90 = 0x30: [0xf0000, 0x100000) -> RAM", StringComparison.Ordinal));
        Assert.Contains(protect.Effects, e => e.StartsWith("mch: PAM register 0x90 = 0x10: [0xf0000, 0x100000) -> read-only RAM", StringComparison.Ordinal));
        // Together they are every ioctl made after the guest started, in the accelerator's own order.
        Assert.Equal(trace.Skip(run.BoardIoctls), shadow.Mappings.Concat(protect.Mappings).Cast<SlotIoctlEvent>().Select(m => m.Ioctl));
        // Shadowing 0xf0000 as RAM gives it a writable slot.
        Assert.Contains(shadow.Mappings, m => m is { Removes: false, Start: 0xf0000 } && ((SlotIoctlEvent)m).Ioctl.Flags == 0);

        IReadOnlyList<string> text = s.Describe();
        Assert.Contains(text, l => l.StartsWith($"Guest exits: 10 (KVM_EXIT_IO 9, Halt 1); 2 of them changed slots:", StringComparison.Ordinal));
        Assert.Contains(text, l => l.StartsWith($"  event #{shadow.Exit.Sequence} KVM_EXIT_IO out port 0xcfc size 1 data 0x30", StringComparison.Ordinal)
                                  && l.Contains($"=> {shadow.Mappings.Count} KVM_SET_USER_MEMORY_REGION call", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAcceleratorAttachedAfterTheBoardIsReportedWithWhatItsReplaySet()
    {
        // Synthetic order: RAM is mapped before the accelerator registers, so registration replays it.
        using var system = new MemorySystem();
        var root = MemoryRegion.CreateContainer(system, "system", MemoryRegion.Size2To64);
        var timeline = new ChainTimeline();
        timeline.Follow(system);
        AddressSpace memory = system.CreateAddressSpace(root, "memory");
        timeline.FollowSpace(memory);
        root.AddSubregion(0, MemoryRegion.CreateRam(system, "ram", 1 << 20));
        AddressSpace io = system.CreateAddressSpace(MemoryRegion.CreateContainer(system, "io", 0x10000), "I/O");
        timeline.Record(ChainStructure.KVMSlot, "KVM", new PhaseEvent(MachinePhase.AcceleratorInit, "late kvm_init"));
        KvmAccelerator kvm = KvmAccelerator.Attach(system, new SimulatedKvmVm(), memory, io);
        timeline.Follow(kvm);
        kvm.Dispose();

        ChainSummary s = ChainSummary.Of(timeline.Events);
        Assert.Equal(0, s.MappingsAtAcceleratorInit);
        Assert.Contains(("memory", 1, 1), s.ViewsAtAcceleratorInit);
        Assert.Contains(s.Describe(), l => l.Contains("\"memory\": 1 RAM-backed of 1 section", StringComparison.Ordinal));
    }

    [Fact]
    public void SyntheticTimelineAttributesMappingsToTheExitRecordedAfterThem()
    {
        var events = new List<ChainEvent>();
        void Add(ChainStructure structure, ChainPayload payload) => events.Add(new ChainEvent(events.Count + 1, TimeSpan.Zero, structure, "t", payload));
        SlotIoctlEvent Ioctl(uint slot, ulong gpa, ulong size) => new(new KvmSlotEvent(slot, 0, gpa, size, 0x1000, 0));

        Add(ChainStructure.AddressSpace, new AddressSpaceEvent("memory", "system"));
        Add(ChainStructure.KVMSlot, new PhaseEvent(MachinePhase.AcceleratorInit, "kvm_init"));
        Add(ChainStructure.MemoryRegion, new PhaseEvent(MachinePhase.BoardInit, "board"));
        Add(ChainStructure.MemoryRegion, new RegionChangeEvent("ram", "memory_region_add_subregion", "memory_region_add_subregion 'ram' into 'system' at 0x0"));
        Add(ChainStructure.MemoryRegionSection, new SectionEvent("memory", "region_add", 0, 0x1000, "ram", "ram", 0));
        Add(ChainStructure.KvmUserspaceMemoryRegion, Ioctl(0, 0, 0x1000));
        Add(ChainStructure.FlatView, new CommitEvent(7, []));
        Add(ChainStructure.FlatView, new CommitEvent(8, []));
        Add(ChainStructure.VcpuExit, new PhaseEvent(MachinePhase.GuestStart, "vcpu"));
        Add(ChainStructure.VcpuExit, new VcpuExitEvent(0, new VcpuExit(VcpuExitKind.Io, 0x3f8, 1, 1, true, 0x41), "I/O", "serial"));
        Add(ChainStructure.Device, new NoteEvent("REG 0x1 = 0x2: moved"));
        Add(ChainStructure.KvmUserspaceMemoryRegion, Ioctl(0, 0, 0));
        Add(ChainStructure.KvmUserspaceMemoryRegion, Ioctl(0, 0x2000, 0x1000));
        Add(ChainStructure.FlatView, new CommitEvent(9, []));
        Add(ChainStructure.VcpuExit, new VcpuExitEvent(0, new VcpuExit(VcpuExitKind.Mmio, 0xfe000000, 4, 1, true, 1), "memory", "dev"));
        Add(ChainStructure.KvmUserspaceMemoryRegion, Ioctl(1, 0x4000, 0x1000));

        ChainSummary s = ChainSummary.Of(events);
        Assert.Equal(7, s.First?.Commit);
        Assert.Equal(MachinePhase.BoardInit, s.First?.Phase);
        Assert.Equal(4, s.Mappings);
        Assert.Equal([(MachinePhase.BoardInit, 1), (MachinePhase.GuestStart, 3)], s.MappingsByPhase);
        GuestCause cause = Assert.Single(s.GuestCauses);
        Assert.Equal(15, cause.Exit.Sequence);
        Assert.Equal(["t: REG 0x1 = 0x2: moved"], cause.Effects);
        Assert.Equal(["Slot#0 deleted", "Slot#0 [0x2000, 0x3000)"], cause.Mappings.Select(m => m.Brief));
        Assert.Equal(1, s.UnattributedGuestMappings);
        Assert.Equal(3, s.Commits);
        Assert.Equal(1, s.CommitsWithoutChange);
        Assert.Contains("  1 KVM_SET_USER_MEMORY_REGION call after the last recorded exit.", s.Describe());
    }

    [Fact]
    public void AnEmptyTimelineIsSummarisedWithoutClaims()
    {
        ChainSummary s = ChainSummary.Of([]);
        Assert.Null(s.First);
        Assert.Equal(0, s.Mappings);
        Assert.Equal(
            ["Listeners: this timeline does not record the accelerator's init.", "First slot: none was set in this run.",
             "0 mapping calls in all: 0 by the board, 0 by the guest.", "Guest exits: none, the guest did not run.",
             "Commits: 0, 0 of them changed no address space's FlatView."],
            s.Describe());
    }
}
