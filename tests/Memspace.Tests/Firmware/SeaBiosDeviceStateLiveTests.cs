using Memspace.Kvm;
using Memspace.Machines;
using Memspace.Machines.Firmware;
using Memspace.Machines.State;
using Memspace.Tests.Machines;
using Memspace.Tests.Support;

namespace Memspace.Tests.Firmware;

/// <summary>
/// Debian's SeaBIOS booted live on q35 under KVM with the in-kernel irqchip, to "No bootable device",
/// then every device's state (the kernel's PIC, IOAPIC and PIT as SeaBIOS programmed them included)
/// loaded into a second KVM machine built the same way: same trees, flat views, slots and kernel state.
/// Needs /dev/kvm and the seabios package.
/// </summary>
public class SeaBiosDeviceStateLiveTests(ITestOutputHelper output)
{
    [Fact]
    public void ABootedQ35MovesToAFreshKvmMachine()
    {
        KvmGuest.RequireKvm();
        byte[]? image = SeaBios.Load("seabios", out string? error);
        if (image is null)
        {
            Assert.Skip($"needs Debian's seabios package: {error}");
        }
        var options = new MachineOptions
        {
            RamSize = 512UL << 20,
            Accelerator = MachineAccelerator.Kvm,
            Firmware = image,
            Smm = false,
            DemoDevice = false,
            DebugConsole = true,
            DeviceClock = () => 1_000_000_000_000,
        };
        using var a = (X86Machine)Machine.Create("q35", options);
        using (Memspace.Vcpus.Vcpu vcpu = a.CreateVcpu())
        {
            FirmwareBootResult r = FirmwareBoot.Run(a, vcpu, TimeSpan.FromSeconds(90));
            Assert.True(r.ReachedEnd, $"{r.Outcome}: {r.Detail}");
        }
        KvmVm source = a.Kvm!.RealVm!;
        // SeaBIOS initialised the PICs (vectors 0x08 and 0x70) and started PIT counter 0.
        Assert.Equal(0x08UL, source.GetIrqchip(KvmIrqchipId.PicMaster)["irq_base"]);
        Assert.Equal(0x70UL, source.GetIrqchip(KvmIrqchipId.PicSlave)["irq_base"]);
        var topology = DeviceStateImage.Topology(a);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        DeviceStateImage saved = DeviceStateImage.Save(a);
        double saveMs = clock.Elapsed.TotalMilliseconds;

        using var b = (X86Machine)Machine.Create("q35", options);
        clock.Restart();
        saved.Load(b);
        double loadMs = clock.Elapsed.TotalMilliseconds;
        output.WriteLine($"after SeaBIOS: {saved.Devices.Count} devices, {saved.Devices.Sum(d => d.Data.Length)} bytes; save {saveMs:F2} ms, load {loadMs:F2} ms");
        Assert.Equal(topology, DeviceStateImage.Topology(b));
        KvmVm destination = b.Kvm!.RealVm!;
        foreach (KvmIrqchipId chip in Enum.GetValues<KvmIrqchipId>())
        {
            Assert.Equal(source.GetIrqchip(chip).Bytes.ToArray(), destination.GetIrqchip(chip).Bytes.ToArray());
        }
        KvmChipState pa = source.GetPit(), pb = destination.GetPit();
        Assert.All(pa.Fields.Where(f => !f.Name.EndsWith("count_load_time", StringComparison.Ordinal)), f => Assert.Equal(pa.Get(f), pb.Get(f)));
        // Everything but the PIT (whose load time KVM restamps) saves the same bytes again.
        DeviceStateImage again = DeviceStateImage.Save(b);
        foreach (((string name, int _, byte[] x), (string _, int _, byte[] y)) in saved.Devices.Zip(again.Devices))
        {
            if (name != "i8254@0x40")
            {
                Assert.True(x.AsSpan().SequenceEqual(y), $"{name} differs after the load");
            }
        }
    }
}
