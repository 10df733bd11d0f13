using Memspace.Interop;
using Memspace.Kvm;
using Memspace.Printing;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Tests.Support;

namespace Memspace.Tests.Kvm;

/// <summary>
/// The KVM memory listener's slot management (digest cases 47-51 and QEMU's ordering), against a
/// simulated VM that checks what the kernel checks. No <c>/dev/kvm</c> needed.
/// </summary>
public class KvmSlotTests
{
    private sealed record Machine(MemorySystem System, MemoryRegion Root, AddressSpace Memory, AddressSpace Io, SimulatedKvmVm Vm, KvmAccelerator Kvm)
    {
        /// <summary>The trace without host addresses, which differ from run to run.</summary>
        public string[] Trace() => [.. Kvm.Trace.Select(e => $"Slot#{e.Slot} flags=0x{e.Flags:x} gpa=0x{e.Gpa:x} size=0x{e.Size:x} ret={e.Ret}")];
    }

    private static Machine Create(int slots = 32764, bool readonlyMem = true, ulong maxSlotSize = ulong.MaxValue, MemorySystemOptions? options = null)
    {
        var s = new MemorySystem(options);
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        MemoryRegion io = MemoryRegion.CreateContainer(s, "io", 0x10000);
        AddressSpace memory = s.CreateAddressSpace(root, "memory");
        AddressSpace ioSpace = s.CreateAddressSpace(io, "I/O");
        var vm = new SimulatedKvmVm(slots, readonlyMem);
        KvmAccelerator kvm = KvmAccelerator.Attach(s, vm, memory, ioSpace, maxSlotSize);
        return new Machine(s, root, memory, ioSpace, vm, kvm);
    }

    [Fact]
    public void RegisteringOnAnEmptyViewSetsNoSlot()
    {
        Machine m = Create();
        Assert.Empty(m.Kvm.Trace);
        Assert.Empty(m.Vm.Calls);
        m.Root.AddSubregion(0, MemoryRegion.CreateRam(m.System, "pc.ram", 0x100000));
        Assert.Equal(["Slot#0 flags=0x0 gpa=0x0 size=0x100000 ret=0"], m.Trace());
    }

    [Fact]
    public void Case47_SectionsAreTrimmedInwardToHostPages()
    {
        Machine m = Create();
        MemoryRegion ram = MemoryRegion.CreateRam(m.System, "ram", 0x10000);
        m.Root.AddSubregion(0x1800, MemoryRegion.CreateAlias(m.System, "unaligned", ram, 0x800, 0x3000));
        m.Root.AddSubregion(0x10000, MemoryRegion.CreateAlias(m.System, "tiny", ram, 0, 0x800));
        Assert.Equal(["Slot#0 flags=0x0 gpa=0x2000 size=0x2000 ret=0"], m.Trace());
        KvmSlot slot = m.Kvm.MemoryListener.Slots.Single();
        using (Memspace.Ram.RamPointer pointer = ram.GetRamPtr())
        {
            Assert.Equal(pointer.Address + 0x1000, slot.Ram);
        }
        Assert.Equal(ram.RamAddr + 0x1000, slot.RamStartOffset);
    }

    [Fact]
    public void Case48_TheLowestFreeSlotIsReused()
    {
        Machine m = Create();
        MemoryRegion a = MemoryRegion.CreateRam(m.System, "a", 0x1000);
        MemoryRegion b = MemoryRegion.CreateRam(m.System, "b", 0x1000);
        MemoryRegion c = MemoryRegion.CreateRam(m.System, "c", 0x1000);
        m.Root.AddSubregion(0x0, a);
        m.Root.AddSubregion(0x10000, b);
        m.Root.RemoveSubregion(a);
        m.Root.AddSubregion(0x20000, c);
        Assert.Equal(
        [
            "Slot#0 flags=0x0 gpa=0x0 size=0x1000 ret=0",
            "Slot#1 flags=0x0 gpa=0x10000 size=0x1000 ret=0",
            "Slot#0 flags=0x0 gpa=0x0 size=0x0 ret=0",
            "Slot#0 flags=0x0 gpa=0x20000 size=0x1000 ret=0",
        ], m.Trace());
    }

    [Fact]
    public void Case49_Flags()
    {
        Machine m = Create();
        var ops = Build.DummyOps;
        m.Root.AddSubregion(0x00000, MemoryRegion.CreateRom(m.System, "rom", 0x1000));
        MemoryRegion flash = MemoryRegion.CreateRomDevice(m.System, "flash", 0x1000, ops);
        m.Root.AddSubregion(0x10000, flash);
        m.Root.AddSubregion(0x20000, MemoryRegion.CreateIo(m.System, "mmio", 0x1000, ops));
        MemoryRegion vram = MemoryRegion.CreateRam(m.System, "vram", 0x1000);
        vram.SetLog(true, DirtyMemoryClient.Vga);
        m.Root.AddSubregion(0x30000, vram);
        Assert.Equal(
        [
            "Slot#0 flags=0x2 gpa=0x0 size=0x1000 ret=0",
            "Slot#1 flags=0x2 gpa=0x10000 size=0x1000 ret=0",
            "Slot#2 flags=0x1 gpa=0x30000 size=0x1000 ret=0",
        ], m.Trace());
        flash.SetRomd(false);
        Assert.Equal("Slot#1 flags=0x0 gpa=0x10000 size=0x0 ret=0", m.Trace()[^1]);
        Assert.Equal(3, m.Vm.Slots.Count + 1);
    }

    [Fact]
    public void Case49_ReadOnlyAliasOfRamGetsAReadOnlySlotUnlessQemu72()
    {
        foreach (bool honour in new[] { true, false })
        {
            Machine m = Create(options: new MemorySystemOptions { HonourSectionReadOnly = honour });
            MemoryRegion ram = MemoryRegion.CreateRam(m.System, "pc.ram", 0x100000);
            MemoryRegion pamRom = MemoryRegion.CreateAlias(m.System, "pam-rom", ram, 0xc0000, 0x4000);
            pamRom.SetReadOnly(true);
            m.Root.AddSubregion(0xc0000, pamRom);
            Assert.Equal([$"Slot#0 flags=0x{(honour ? 2 : 0)} gpa=0xc0000 size=0x4000 ret=0"], m.Trace());
        }
    }

    [Fact]
    public void Case50_ACommitDeletesBeforeItAddsInAddressOrder()
    {
        Machine m = Create();
        MemoryRegion ram = MemoryRegion.CreateRam(m.System, "pc.ram", 0x20000000);
        m.Root.AddSubregion(0, MemoryRegion.CreateAlias(m.System, "ram-below-4g", ram, 0, 0x20000000));
        MemoryRegion rom = MemoryRegion.CreateRom(m.System, "pc.rom", 0x20000);
        m.Root.AddSubregion(0xc0000, rom, 1);
        Assert.Equal(
        [
            "Slot#0 flags=0x0 gpa=0x0 size=0x20000000 ret=0",
            "Slot#0 flags=0x0 gpa=0x0 size=0x0 ret=0",
            "Slot#0 flags=0x0 gpa=0x0 size=0xc0000 ret=0",
            "Slot#1 flags=0x2 gpa=0xc0000 size=0x20000 ret=0",
            "Slot#2 flags=0x0 gpa=0xe0000 size=0x1ff20000 ret=0",
        ], m.Trace());
    }

    [Fact]
    public void Case51_LargeSectionsAreSplitAtTheMaximumSlotSize()
    {
        Machine m = Create(maxSlotSize: 4UL << 40);
        var s = new MemorySystem();
        _ = s;
        MemoryRegion huge = MemoryRegion.CreateRam(m.System, "huge", 6UL << 40);
        m.Root.AddSubregion(0, huge);
        Assert.Equal(
        [
            "Slot#0 flags=0x0 gpa=0x0 size=0x40000000000 ret=0",
            "Slot#1 flags=0x0 gpa=0x40000000000 size=0x20000000000 ret=0",
        ], m.Trace());
        Assert.True(m.Kvm.HasMemory(m.Memory, 0, 6UL << 40));
        m.Root.RemoveSubregion(huge);
        Assert.Empty(m.Vm.Slots);
    }

    [Fact]
    public void FlagChangesReissueTheSlotAndReadOnlyFlipsRemoveItFirst()
    {
        Machine m = Create();
        MemoryRegion ram = MemoryRegion.CreateRam(m.System, "vram", 0x4000);
        m.Root.AddSubregion(0x100000, ram);
        ram.SetLog(true, DirtyMemoryClient.Vga);
        ram.SetLog(false, DirtyMemoryClient.Vga);
        Assert.Equal(
        [
            "Slot#0 flags=0x0 gpa=0x100000 size=0x4000 ret=0",
            "Slot#0 flags=0x1 gpa=0x100000 size=0x4000 ret=0",
            "Slot#0 flags=0x0 gpa=0x100000 size=0x4000 ret=0",
        ], m.Trace());
        // A read-only flip of the same range is a del + add in the topology diff.
        ram.SetReadOnly(true);
        Assert.Equal(["Slot#0 flags=0x0 gpa=0x100000 size=0x0 ret=0", "Slot#0 flags=0x2 gpa=0x100000 size=0x4000 ret=0"], m.Trace()[3..]);
    }

    [Fact]
    public void DirtyLogSyncMergesIntoTheRamBlockBitmaps()
    {
        Machine m = Create();
        MemoryRegion vram = MemoryRegion.CreateRam(m.System, "vram", 0x10000);
        vram.SetLog(true, DirtyMemoryClient.Vga);
        m.Root.AddSubregion(0x100000, vram);
        m.System.RamList.Dirty.ClearDirty(vram.RamAddr, 0x10000);
        KvmSlot slot = m.Kvm.MemoryListener.Slots.Single();
        m.Vm.MarkDirty(slot.KernelSlot, 3);
        m.Vm.MarkDirty(slot.KernelSlot, 15);
        var snap = vram.SnapshotAndClearDirty(0, 0x10000, DirtyMemoryClient.Vga);
        var dirtyPages = Enumerable.Range(0, 16).Where(p => vram.SnapshotGetDirty(snap, (ulong)p * 0x1000, 0x1000)).ToArray();
        Assert.Equal([3, 15], dirtyPages);
        Assert.Contains($"get_dirty_log slot={slot.KernelSlot}", m.Vm.Calls);
        // Removing a logged slot syncs its log first.
        m.Vm.MarkDirty(slot.KernelSlot, 7);
        m.Root.RemoveSubregion(vram);
        Assert.True(vram.GetDirty(0x7000, 0x1000, DirtyMemoryClient.Vga));
    }

    [Fact]
    public void ExhaustedSlotsFailClearlyAndLeaveTheTableConsistent()
    {
        Machine m = Create(slots: 3);
        var regions = Enumerable.Range(0, 4).Select(i => MemoryRegion.CreateRam(m.System, $"r{i}", 0x1000)).ToArray();
        for (int i = 0; i < 3; i++)
        {
            m.Root.AddSubregion((ulong)i * 0x10000, regions[i]);
        }
        // The listener's failure reaches the code that made the change, wrapped; the commit itself completed.
        var ex = Assert.Throws<Memspace.Listeners.MemoryListenerException>(() => m.Root.AddSubregion(0x30000, regions[3]));
        Assert.Equal("kvm-memory", ex.ListenerName);
        Assert.IsType<KvmException>(ex.InnerException);
        Assert.Contains("all 3 slots (KVM_CAP_NR_MEMSLOTS) are in use", ex.Message);
        Assert.Same(regions[3], m.Root.Subregions[0]);
        Assert.Equal(3, m.Kvm.MemoryListener.Slots.Count);
        Assert.Equal(3, m.Vm.Slots.Count);
        Assert.All(m.Kvm.MemoryListener.Slots, s => Assert.True(m.Vm.Slots.ContainsKey(s.KernelSlot)));
    }

    [Fact]
    public void TheSlotTableGrowsFromSixteenByDoubling()
    {
        Machine m = Create();
        Assert.Equal(16, m.Kvm.MemoryListener.SlotsAllocated);
        using (m.System.Transaction())
        {
            for (int i = 0; i < 17; i++)
            {
                m.Root.AddSubregion((ulong)i * 0x10000, MemoryRegion.CreateRam(m.System, $"r{i}", 0x1000));
            }
        }
        Assert.Equal(32, m.Kvm.MemoryListener.SlotsAllocated);
        Assert.Equal(17, m.Vm.Slots.Count);
    }

    [Fact]
    public void InfoMtreeMarksRangesKvmMaps()
    {
        Machine m = Create();
        MemoryRegion ram = MemoryRegion.CreateRam(m.System, "pc.ram", 0x100000);
        m.Root.AddSubregion(0, ram);
        m.Root.AddSubregion(0x80800, MemoryRegion.CreateIo(m.System, "dev", 0x800, Build.DummyOps), 1);
        string flat = FlatViewPrinter.ToText(m.System);
        Assert.Contains("  0000000000000000-00000000000807ff (prio 0, ram): pc.ram\n", flat); // not page-aligned at the end: no exact slot
        Assert.Contains("  0000000000081000-00000000000fffff (prio 0, ram): pc.ram @0000000000081000 KVM\n", flat);
        Assert.Contains("  0000000000080800-0000000000080fff (prio 1, i/o): dev\n", flat);
    }

    [Fact]
    public void IoeventfdsWithEventfdsGoToKvm()
    {
        Machine m = Create();
        MemoryRegion mmio = MemoryRegion.CreateIo(m.System, "virtio", 0x1000, Build.DummyOps);
        m.Root.AddSubregion(0xfe000000, mmio);
        MemoryRegion port = MemoryRegion.CreateIo(m.System, "port", 8, Build.DummyOps);
        m.Io.Root.AddSubregion(0xc000, port);
        using var e1 = new EventFdNotifier();
        using var e2 = new EventFdNotifier();
        mmio.AddEventfd(0x50, 4, true, 7, e1);
        port.AddEventfd(0x2, 2, false, 0, e2);
        port.RemoveEventfd(0x2, 2, false, 0, e2);
        Assert.Equal(
        [
            "ioeventfd addr=0xfe000050 len=4 datamatch=0x7 flags=0x1",
            "ioeventfd addr=0xc002 len=2 datamatch=0x0 flags=0x2",
            "ioeventfd addr=0xc002 len=2 datamatch=0x0 flags=0x6",
        ], m.Vm.Calls.Where(c => c.StartsWith("ioeventfd", StringComparison.Ordinal)));
        // Signalled by KVM in the kernel, so a write that reaches userspace goes to the device.
        Assert.True(m.System.IoeventfdsHandledByAccelerator);
        Assert.Equal(MemTxResult.Ok, m.Memory.StoreU32Le(0xfe000050, 7, MemTxAttrs.UnspecifiedAttrs));
        Assert.False(e1.TestAndClear());
    }

    [Fact]
    public void TraceLinesHaveQemu72Format()
    {
        var e = new KvmSlotEvent(0x10002, 2, 0xfffc0000, 0x40000, 0x7f00deadb000, 0);
        Assert.Equal("kvm_set_user_memory Slot#65538 flags=0x2 gpa=0xfffc0000 size=0x40000 ua=0x7f00deadb000 ret=0", e.ToString());
    }
}
