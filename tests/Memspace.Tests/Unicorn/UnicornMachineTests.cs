using Memspace.Cli.Guest;
using Memspace.Machines;
using Memspace.Printing;
using Memspace.Regions;
using Memspace.Rendering;
using Memspace.Tests.Support;
using Memspace.Unicorn;

namespace Memspace.Tests.Unicorn;

/// <summary>
/// The "unicorn-memory" listener's mapping rule, and machines whose guest ran on Unicorn compared with
/// the same machines driven by the same port writes on a simulated KVM VM.
/// </summary>
[Collection(nameof(Kvm.KvmLive))]
public class UnicornMachineTests
{
    private static UnicornMemoryListener.Section S(MemorySystem s, ulong start, ulong size, MemoryRegion region, ulong offset = 0, bool ro = false)
        => new(start, (UInt128)start + size, region, offset, ro);

    [Fact]
    public void RamInsidesAreMappedAndSharedPagesBecomeOneWindow()
    {
        using var s = new MemorySystem();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x300000);
        MemoryRegion rom = MemoryRegion.CreateRom(s, "rom", 0x10000);
        MemoryRegion dev = MemoryRegion.CreateIo(s, "dev", 0x100, new MemoryRegionOps { Read = (_, _) => 0, Write = (_, _, _) => { } });
        MemoryRegion dev2 = MemoryRegion.CreateIo(s, "dev2", 0x100, new MemoryRegionOps { Read = (_, _) => 0, Write = (_, _, _) => { } });
        List<UnicornMapping> maps = UnicornMemoryListener.ComputeMappings(
        [
            S(s, 0, 0x200800, ram),               // RAM crossing 1 MiB, ending mid-page
            S(s, 0x200800, 0x100, dev),           // shares that page
            S(s, 0x200900, 0x100, dev2),          // and so does this one
            S(s, 0xe0000000, 0x10000, rom),
            S(s, 0xf0000000, 0x10000, ram, 0x100000, ro: true),
        ], honourSectionReadOnly: true);
        Assert.Equal(
        [
            "[0x0, 0x100000) ram perms 0x7",
            "[0x100000, 0x200000) ram perms 0x7",
            "[0x200000, 0x201000) mmio 'ram+dev+dev2'",
            "[0xe0000000, 0xe0010000) ram perms 0x5",
            "[0xf0000000, 0xf0010000) ram perms 0x5",
        ], maps.Select(m => m.ToString().Split(" host")[0].Replace(" 'ram'", "", StringComparison.Ordinal).Replace(" 'rom'", "", StringComparison.Ordinal)));
        Assert.Equal(ram.RamBlock!.Host + 0x100000, maps[1].Host);
        Assert.Equal(ram.RamBlock.Host + 0x100000, maps[4].Host);
    }

    [Fact]
    public void DirtyLoggedRamGoesThroughTheAddressSpace()
    {
        using var s = new MemorySystem();
        MemoryRegion vram = MemoryRegion.CreateRam(s, "vram", 0x10000);
        vram.SetLog(true, Memspace.Ram.DirtyMemoryClient.Vga);
        List<UnicornMapping> maps = UnicornMemoryListener.ComputeMappings([S(s, 0xa0000, 0x10000, vram)], true);
        Assert.Equal(UnicornMappingKind.Mmio, Assert.Single(maps).Kind);
    }

    /// <summary>Every RAM or ROM range of the memory view is mapped as RAM with its permissions where whole pages allow, and nothing else is.</summary>
    private static void AssertMapFollowsView(Machine m)
    {
        IReadOnlyList<UnicornMapping> maps = m.Unicorn!.Mappings;
        foreach (FlatRange r in m.Memory.CurrentMap.Ranges)
        {
            if (r.Region.IsRam && !r.Region.IsRamDevice && r.Region.DirtyLogMask == 0 && r.End - r.Start >= 0x1000)
            {
                ulong start = (r.Start + 0xfff) & ~0xfffUL;
                int perms = r.ReadOnly || r.Region.ReadOnly ? 5 : 7;
                Assert.Contains(maps, x => x.Kind == UnicornMappingKind.Ram && x.Start <= start && start < x.End && x.Perms == perms);
            }
        }
        foreach (UnicornMapping x in maps.Where(x => x.Kind == UnicornMappingKind.Ram))
        {
            FlatRange? r = m.Memory.CurrentMap.Lookup(x.Start);
            Assert.True(r is { } fr && fr.Region.IsRam && fr.End >= x.End, $"{x} is not inside a RAM range of the view");
        }
    }

    [Theory]
    [InlineData("q35")]
    [InlineData("pc")]
    [InlineData("microvm")]
    public void FinalMapsOnUnicornEqualTheSimulatedKvmRun(string name)
    {
        KvmGuest.Require("unicorn");
        byte[] image = DemoFirmware.Build(name == "microvm" ? 64 * 1024 : 256 * 1024);
        using Machine live = Machine.Create(name, new MachineOptions { Accelerator = MachineAccelerator.Unicorn, Firmware = image });
        var writes = new List<(ulong Port, uint Size, ulong Value)>();
        var serial = new System.Text.StringBuilder();
        ((X86Machine)live).Serial!.Transmitted += b => serial.Append((char)b);
        using (Vcpu vcpu = live.CreateVcpu())
        {
            vcpu.Exited += e =>
            {
                if (e is { Kind: VcpuExitKind.Io, IsWrite: true })
                {
                    writes.Add((e.Address, e.Size, e.Data));
                }
            };
            VcpuStop stop = vcpu.Run();
            Assert.True(stop.Reason == VcpuStopReason.Halted, stop.Detail);
        }
        Assert.Contains(DemoFirmware.DoneLine, serial.ToString(), StringComparison.Ordinal);
        AssertMapFollowsView(live);

        // The same machine on a simulated KVM VM, driven by the same port writes. Its "KVM-SMRAM" address
        // space exists only for KVM's "kvm-smram" listener, so the comparison builds it with SMM off, and
        // without the in-kernel irqchip, whose regions QEMU names "kvm-pic" and so on.
        using Machine sim = Machine.Create(name, new MachineOptions { Accelerator = MachineAccelerator.Simulated, Firmware = image, Smm = false, KernelIrqchip = false });
        foreach ((ulong port, uint size, ulong value) in writes)
        {
            Span<byte> data = BitConverter.GetBytes(value).AsSpan(0, (int)size);
            sim.Io.Write(port, data, MemTxAttrs.UnspecifiedAttrs);
        }
        // With the platform devices, Unicorn's delivering PIC and PIT take the places (and QEMU's TCG names)
        // of the register-only models; without them (microvm) they are extra.
        if (((X86Machine)sim).Platform is not null)
        {
            Assert.Equal(Print(w => MtreePrinter.Print(sim.System, w, disabled: true)), Print(w => MtreePrinter.Print(live.System, w, disabled: true)));
        }
        else
        {
            Assert.Equal(WithoutIo(Print(w => MtreePrinter.Print(sim.System, w, disabled: true))), WithoutIo(Print(w => MtreePrinter.Print(live.System, w, disabled: true))));
            Assert.Equal(
                sim.Io.CurrentMap.Ranges.Select(r => r.Region.Name).Append("elcr").Append("pic").Append("pit").Distinct().Order(StringComparer.Ordinal),
                live.Io.CurrentMap.Ranges.Select(r => r.Region.Name).Distinct().Order(StringComparer.Ordinal));
        }
        Assert.Equal(Ranges(sim.Memory), Ranges(live.Memory));
        Assert.Equal(Print(w => RamBlockPrinter.Print(sim.System.RamList, w)), Print(w => RamBlockPrinter.Print(live.System.RamList, w)));
    }

    private static string WithoutIo(string mtree)
    {
        int start = mtree.IndexOf("address-space: I/O\n", StringComparison.Ordinal);
        int end = mtree.IndexOf("\n\n", start, StringComparison.Ordinal);
        return mtree.Remove(start, end - start);
    }

    private static string[] Ranges(AddressSpace space)
        => [.. space.CurrentMap.Ranges.Select(r => $"[0x{r.Start:x}, 0x{r.End:x}) {r.Region.Name} +0x{r.OffsetInRegion:x}{(r.ReadOnly ? " ro" : "")}")];

    private static string Print(Action<TextWriter> print)
    {
        var w = new StringWriter();
        print(w);
        return w.ToString();
    }
}
