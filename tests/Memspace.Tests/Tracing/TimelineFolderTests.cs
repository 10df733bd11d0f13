using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Tracing;

namespace Memspace.Tests.Tracing;

/// <summary>The folded timeline of `memspace run`: shorter, in order, and standing for every event.</summary>
public class TimelineFolderTests
{
    [Fact]
    public void AMachinesTimelineFoldsToLessThanHalfWithoutLosingAnEvent()
    {
        using var run = new GuestScenario();
        IReadOnlyList<ChainEvent> events = run.Timeline.Events;
        IReadOnlyList<FoldedEvent> folded = TimelineFolder.Fold(events);

        Assert.Equal(events.Count, folded.Sum(l => l.Events));
        Assert.True(folded.Count * 2 < events.Count, $"{folded.Count} lines for {events.Count} events");
        // Lines keep the timeline's order.
        Assert.Equal(folded.Select(l => l.First.Sequence).Order(), folded.Select(l => l.First.Sequence));
        // Every slot ioctl, RAM-backed listener section, RAM block and phase is still shown as it was.
        string all = string.Join('\n', folded.Select(l => l.Text));
        foreach (ChainEvent e in events.Where(e => e.Payload is SlotIoctlEvent or SlotEvent or SectionEvent { Kind: not "i/o" } or RamBlockEvent or PhaseEvent))
        {
            Assert.Contains(e.Text, all, StringComparison.Ordinal);
        }
        // MMIO/I/O-only commits are folded with their count of section callbacks.
        Assert.Contains(folded, l => l.Text.Contains("changed only MMIO/I/O ranges, no slot: ", StringComparison.Ordinal)
                                     && l.Text.Contains("'pci-conf-idx'", StringComparison.Ordinal) && l.Text.Contains("MemoryRegionSection callbacks in \"I/O\"", StringComparison.Ordinal));
        // The reset's thirteen PAM segments: one line for the toggles, one for the register effects.
        Assert.Contains(folded, l => l.Text == "memory_region_set_enabled 'pam-pci' on (x13)" && l.Events == 13);
        Assert.Contains(folded, l => l.Text.StartsWith("PAM register 0x90 = 0x00: [0xf0000, 0x100000) -> PCI (pam-pci @pci) ... PAM register 0x96", StringComparison.Ordinal)
                                     && l.Text.EndsWith("(13 register effects)", StringComparison.Ordinal));
        // Commits nobody heard of are folded, naming the regions they committed.
        Assert.Contains(folded, l => l.Text.Contains("commits #", StringComparison.Ordinal) && l.Text.Contains("'tseg-blackhole' x2", StringComparison.Ordinal)
                                     && (l.Text.Contains("changed no FlatView: ", StringComparison.Ordinal) || l.Text.Contains("changed only MMIO/I/O ranges, no slot: ", StringComparison.Ordinal)));
        // The guest's console output is one line; its PAM write is shown with the slot state it left.
        Assert.Contains(folded, l => l.Text == "KVM_EXIT_IO out port 0x3f8 x2 [AS \"I/O\" -> 'serial']: \"ok\"" && l.Events == 2);
        Assert.Contains(folded, l => l.Text.StartsWith("KVM_EXIT_IO out port 0xcfc size 1 data 0x30", StringComparison.Ordinal));
        Assert.Contains(folded, l => l.First.Payload is SlotIoctlEvent && l.Text.Contains(" => KVMSlot #", StringComparison.Ordinal) && l.Events == 2);
    }

    [Fact]
    public void TogglesInsideOneCommitFoldAndSeparateCommitsDoNot()
    {
        var events = new List<ChainEvent>();
        void Add(ChainStructure structure, ChainPayload payload) => events.Add(new ChainEvent(events.Count + 1, TimeSpan.Zero, structure, "t", payload));
        RegionChangeEvent Toggle(string name, bool on) => new(name, "memory_region_set_enabled", $"memory_region_set_enabled '{name}' {(on ? "on" : "off")}");

        Add(ChainStructure.MemoryRegion, Toggle("a", false));
        Add(ChainStructure.MemoryRegion, Toggle("a", true));
        Add(ChainStructure.MemoryRegion, Toggle("b", true));
        Add(ChainStructure.MemoryRegionSection, new SectionEvent("memory", "region_add", 0, 0x1000, "ram", "b", 0));
        Add(ChainStructure.KvmUserspaceMemoryRegion, new SlotIoctlEvent(new KvmSlotEvent(0, 0, 0, 0x1000, 0x7000, 0)));
        Add(ChainStructure.KVMSlot, new SlotEvent(0, 0, 0x1000, 0));
        Add(ChainStructure.FlatView, new CommitEvent(1, []));
        Add(ChainStructure.MemoryRegion, Toggle("a", false));
        Add(ChainStructure.FlatView, new CommitEvent(2, []));
        Add(ChainStructure.MemoryRegion, Toggle("c", false));
        Add(ChainStructure.FlatView, new CommitEvent(3, []));
        Add(ChainStructure.RAMBlock, new RamBlockEvent("rom", true, 0, 0x1000, 0x1000, 0));
        Add(ChainStructure.FlatView, new CommitEvent(4, []));

        Assert.Equal(
            [
                "memory_region_set_enabled 'a' off, on (x2)",
                "memory_region_set_enabled 'b' on",
                "region_add [0x0, 0x1000) ram 'b' +0x0",
                "kvm_set_user_memory Slot#0 flags=0x0 gpa=0x0 size=0x1000 ua=0x7000 ret=0 => KVMSlot #0 = [0x0, 0x1000) flags 0x0",
                "commit #1 rendered: ",
                "2 commits #2-#3 changed no FlatView: 2 region changes ('a', 'c')",
                "ram_block_add 'rom' at ram_addr 0x0, used 0x1000 of 0x1000, host 0x0",
                "commit #4 changed no FlatView",
            ],
            TimelineFolder.Fold(events).Select(l => l.Text));
        Assert.Equal([2, 1, 1, 2, 1, 4, 1, 1], TimelineFolder.Fold(events).Select(l => l.Events));
    }
}
