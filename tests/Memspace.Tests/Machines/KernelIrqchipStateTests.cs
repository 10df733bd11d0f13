using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Machines.State;
using Memspace.Tests.Support;

namespace Memspace.Tests.Machines;

/// <summary>
/// The "kvm-" PIC pair, IOAPIC and PIT save KVM's state (<c>KVM_GET_IRQCHIP</c>, <c>KVM_GET_PIT2</c>) and
/// load it back with the set calls: on the simulated VM's in-memory irqchip, and live on /dev/kvm.
/// </summary>
public class KernelIrqchipStateTests
{
    /// <summary>
    /// What a guest's programming leaves in the kernel: both PICs initialised and masked, IOAPIC pins
    /// routed, PIT counters loaded. Counter 0 is in mode 5 (hardware strobe), for which KVM runs no
    /// timer: a periodic counter 0 would raise IRQ 0 on its own clock and change the PIC's IRR between
    /// the two machines' reads.
    /// </summary>
    private static void Program(IKvmVm vm)
    {
        KvmChipState master = vm.GetIrqchip(KvmIrqchipId.PicMaster);
        master["irq_base"] = 0x08;
        master["imr"] = 0xfb;
        master["init4"] = 1;
        master["elcr"] = 0x08;
        master["read_reg_select"] = 1;
        vm.SetIrqchip(KvmIrqchipId.PicMaster, master);
        KvmChipState slave = vm.GetIrqchip(KvmIrqchipId.PicSlave);
        slave["irq_base"] = 0x70;
        slave["imr"] = 0xff;
        slave["elcr"] = 0x0c;
        vm.SetIrqchip(KvmIrqchipId.PicSlave, slave);
        KvmChipState ioapic = vm.GetIrqchip(KvmIrqchipId.Ioapic);
        ioapic["ioregsel"] = 0x14;
        ioapic["id"] = 0;
        ioapic["redirtbl[2]"] = 0x30;
        ioapic["redirtbl[9]"] = 0x0000_0000_0000_a039; // level, vector 0x39
        vm.SetIrqchip(KvmIrqchipId.Ioapic, ioapic);
        KvmChipState pit = vm.GetPit();
        pit["channels[0].count"] = 0x2e9c;
        pit["channels[0].mode"] = 5;
        pit["channels[0].rw_mode"] = 3;
        pit["channels[0].read_state"] = 3;
        pit["channels[0].write_state"] = 3;
        pit["channels[2].count"] = 0x0533;
        pit["channels[2].mode"] = 3;
        pit["channels[2].rw_mode"] = 3;
        pit["channels[2].read_state"] = 3;
        pit["channels[2].write_state"] = 3;
        pit["channels[2].gate"] = 1;
        vm.SetPit(pit);
    }

    private static void AssertSameKernelState(IKvmVm expected, IKvmVm actual)
    {
        foreach (KvmIrqchipId chip in Enum.GetValues<KvmIrqchipId>())
        {
            KvmChipState a = expected.GetIrqchip(chip), b = actual.GetIrqchip(chip);
            foreach (KvmStateField f in a.Fields)
            {
                Assert.True(a.Get(f) == b.Get(f), $"{chip} {f.Name}: source 0x{a.Get(f):x}, destination 0x{b.Get(f):x}");
            }
        }
        KvmChipState pa = expected.GetPit(), pb = actual.GetPit();
        foreach (KvmStateField f in pa.Fields.Where(f => !f.Name.EndsWith("count_load_time", StringComparison.Ordinal)))
        {
            Assert.True(pa.Get(f) == pb.Get(f), $"PIT {f.Name}: source 0x{pa.Get(f):x}, destination 0x{pb.Get(f):x}");
        }
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    public void TheSimulatedInKernelIrqchipAndPitMoveWithTheMachine(string name)
    {
        MachineOptions options = DeviceStateRoundTripTests.Options() with { SimulatedKernelIrqchip = true };
        using var a = (X86Machine)Machine.Create(name, options);
        Assert.True(a.Kvm!.Vm.HasInKernelIrqchip);
        DeviceStateRoundTripTests.Drive(a);
        Program(a.Kvm.Vm);
        var topology = DeviceStateImage.Topology(a);
        DeviceStateImage saved = DeviceStateImage.Save(a);
        using var b = (X86Machine)Machine.Create(name, options);
        saved.Load(b);
        AssertSameKernelState(a.Kvm.Vm, b.Kvm!.Vm);
        Assert.Equal(topology, DeviceStateImage.Topology(b));
        DeviceStateImage.AssertSame(saved, DeviceStateImage.Save(b));
        Assert.Contains("set_pit2", ((SimulatedKvmVm)b.Kvm.Vm).Calls);
    }

    [Fact]
    public void KernelStateOutOfRangeIsRefusedBeforeItReachesKvm()
    {
        MachineOptions options = DeviceStateRoundTripTests.Options() with { SimulatedKernelIrqchip = true };
        using var a = (X86Machine)Machine.Create("q35", options);
        Program(a.Kvm!.Vm);
        DeviceStateImage saved = DeviceStateImage.Save(a);
        using var b = (X86Machine)Machine.Create("q35", options);
        var calls = ((SimulatedKvmVm)b.Kvm!.Vm).Calls;
        foreach ((string device, string field, byte value, string message) in new[]
        {
            ("i8259@0x20", "elcr_mask", (byte)0xff, "ELCR"),
            ("i8259@0xa0", "init_state", (byte)9, "init_state"),
            ("i8259@0x20", "irq_base", (byte)0x0c, "vector base"),
            ("i8254@0x40", "channels[1].mode", (byte)7, "mode"),
            ("i8254@0x40", "channels[0].rw_mode", (byte)4, "rw_mode"),
        })
        {
            byte[] state = (byte[])saved.Of(device).Clone();
            state[DeviceStateHostileTests.IndexOfField(state, field)] = value;
            IDeviceState target = b.StateDevices.Single(d => d.StateName == device);
            int before = calls.Count(c => c.StartsWith("set_", StringComparison.Ordinal));
            var e = Assert.Throws<DeviceStateException>(() => target.LoadState(new DeviceStateReader(device, 1, state)));
            Assert.Contains(message, e.Message);
            Assert.Equal(before, calls.Count(c => c.StartsWith("set_", StringComparison.Ordinal)));
        }
        byte[] ioapic = (byte[])saved.Of("ioapic@0xfec00000").Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(ioapic.AsSpan(DeviceStateHostileTests.IndexOfField(ioapic, "base_address")), 0xfec01000);
        Assert.Contains("base address", Assert.Throws<DeviceStateException>(
            () => b.StateDevices.Single(d => d.StateName == "ioapic@0xfec00000").LoadState(new DeviceStateReader("ioapic@0xfec00000", 1, ioapic))).Message);
    }

    [Fact]
    public void LiveKvmPicIoapicAndPitStateRoundTrip()
    {
        KvmGuest.RequireKvm();
        var options = new MachineOptions { Accelerator = MachineAccelerator.Kvm, RamSize = 64UL << 20, DeviceClock = () => 1_000_000_000_000 };
        using var a = (X86Machine)Machine.Create("pc", options);
        KvmVm vm = a.Kvm!.RealVm!;
        Assert.True(vm.HasInKernelIrqchip);
        Program(vm);
        Assert.Equal(0xfbUL, vm.GetIrqchip(KvmIrqchipId.PicMaster)["imr"]);
        Assert.Equal(0x2e9cUL, vm.GetPit()["channels[0].count"]);
        DeviceStateRoundTripTests.Drive(a);
        var topology = DeviceStateImage.Topology(a);
        DeviceStateImage saved = DeviceStateImage.Save(a);

        using var b = (X86Machine)Machine.Create("pc", options);
        Assert.NotEqual(0xfbUL, b.Kvm!.RealVm!.GetIrqchip(KvmIrqchipId.PicMaster)["imr"]);
        saved.Load(b);
        AssertSameKernelState(vm, b.Kvm.RealVm!);
        Assert.Equal(topology.Tree, DeviceStateImage.Topology(b).Tree);
        Assert.Equal(topology.Flat, DeviceStateImage.Topology(b).Flat);
        Assert.Equal(topology.Slots, DeviceStateImage.Topology(b).Slots);
        // KVM restarts each PIT counter at the time of KVM_SET_PIT2: the load time is the destination's.
        Assert.True((long)b.Kvm.RealVm!.GetPit()["channels[0].count_load_time"] >= (long)vm.GetPit()["channels[0].count_load_time"]);
    }
}
