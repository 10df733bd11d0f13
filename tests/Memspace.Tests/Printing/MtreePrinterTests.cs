using Memspace.Printing;
using Memspace.Regions;
using static Memspace.Tests.Support.Build;

namespace Memspace.Tests.Printing;

/// <summary><c>info mtree</c> output formats (digest section 8, cases 63-66).</summary>
public class MtreePrinterTests
{
    private static (MemorySystem, MemoryRegion System, MemoryRegion Io) SmallPc()
    {
        var s = new MemorySystem();
        MemoryRegion system = C(s, "system", Max);
        MemoryRegion io = MemoryRegion.CreateIo(s, "io", 0x10000, new MemoryRegionOps { Read = (_, _) => ulong.MaxValue, Write = (_, _, _) => { } });
        s.CreateAddressSpace(system, "memory");
        s.CreateAddressSpace(io, "I/O");
        s.CreateAddressSpace(system, "cpu-memory-0");
        MemoryRegion ram = R(s, "pc.ram", 0x20000000);
        system.AddSubregion(0, A(s, "ram-below-4g", ram, 0, 0x20000000));
        MemoryRegion pci = C(s, "pci", Max);
        system.AddSubregion(0, pci, -1);
        MemoryRegion bios = O(s, "pc.bios", 0x40000);
        pci.AddSubregion(0xfffc0000, bios);
        pci.AddSubregion(0xe0000, A(s, "isa-bios", bios, 0x20000, 0x20000), 1);
        io.AddSubregion(0x0, M(s, "dma-chan", 8));
        io.AddSubregion(0x10, M(s, "dma-cont", 0x10));
        return (s, system, io);
    }

    [Fact]
    public void TreeFormat()
    {
        var (s, _, _) = SmallPc();
        string expected =
            "address-space: cpu-memory-0\n" +
            "address-space: memory\n" +
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n" +
            "    0000000000000000-000000001fffffff (prio 0, ram): alias ram-below-4g @pc.ram 0000000000000000-000000001fffffff\n" +
            "    0000000000000000-ffffffffffffffff (prio -1, i/o): pci\n" +
            "      00000000000e0000-00000000000fffff (prio 1, rom): alias isa-bios @pc.bios 0000000000020000-000000000003ffff\n" +
            "      00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n" +
            "\n" +
            "address-space: I/O\n" +
            "  0000000000000000-000000000000ffff (prio 0, i/o): io\n" +
            "    0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\n" +
            "    0000000000000010-000000000000001f (prio 0, i/o): dma-cont\n" +
            "\n" +
            "memory-region: pc.ram\n" +
            "  0000000000000000-000000001fffffff (prio 0, ram): pc.ram\n" +
            "\n" +
            "memory-region: pc.bios\n" +
            "  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n" +
            "\n";
        Assert.Equal(expected, MtreePrinter.ToText(s));
    }

    [Fact]
    public void FlatViewFormat()
    {
        var (s, _, _) = SmallPc();
        string expected =
            "FlatView #0\n" +
            " AS \"memory\", root: system\n" +
            " AS \"cpu-memory-0\", root: system\n" +
            " Root memory region: system\n" +
            "  0000000000000000-000000001fffffff (prio 0, ram): pc.ram\n" +
            "  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n" +
            "\n" +
            "FlatView #1\n" +
            " AS \"I/O\", root: io\n" +
            " Root memory region: io\n" +
            "  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\n" +
            "  0000000000000008-000000000000000f (prio 0, i/o): io @0000000000000008\n" +
            "  0000000000000010-000000000000001f (prio 0, i/o): dma-cont\n" +
            "  0000000000000020-000000000000ffff (prio 0, i/o): io @0000000000000020\n" +
            "\n";
        Assert.Equal(expected, FlatViewPrinter.ToText(s));
    }

    [Fact]
    public void Case65_FlatViewPriorityIsTheTerminalRegions()
    {
        var (s, system, _) = SmallPc();
        // pc.ram covers 0xe0000 below 512M, so isa-bios (prio 1 alias, inside prio -1 pci) is hidden;
        // shrink RAM to make it visible.
        ((MemoryRegion)system.Subregions.First(r => r.Name == "ram-below-4g")).SetSize(0xa0000);
        string flat = FlatViewPrinter.ToText(s);
        Assert.Contains("  00000000000e0000-00000000000fffff (prio 0, rom): pc.bios @0000000000020000\n", flat);
    }

    [Fact]
    public void Case63_DisabledContainerHidesItsLineButNotItsChildren()
    {
        var s = new MemorySystem();
        MemoryRegion io = C(s, "io", 0x10000);
        s.CreateAddressSpace(io, "I/O");
        MemoryRegion pm = C(s, "piix4-pm", 0x40);
        pm.AddSubregion(0, M(s, "acpi-evt", 4));
        pm.AddSubregion(4, M(s, "acpi-cnt", 2));
        io.AddSubregion(0x600, pm);
        pm.SetEnabled(false);
        Assert.Equal(
            "address-space: I/O\n" +
            "  0000000000000000-000000000000ffff (prio 0, i/o): io\n" +
            "      0000000000000600-0000000000000603 (prio 0, i/o): acpi-evt\n" +
            "      0000000000000604-0000000000000605 (prio 0, i/o): acpi-cnt\n" +
            "\n", MtreePrinter.ToText(s));
        Assert.Equal(
            "address-space: I/O\n" +
            "  0000000000000000-000000000000ffff (prio 0, i/o): io\n" +
            "    0000000000000600-000000000000063f (prio 0, i/o): piix4-pm [disabled]\n" +
            "      0000000000000600-0000000000000603 (prio 0, i/o): acpi-evt\n" +
            "      0000000000000604-0000000000000605 (prio 0, i/o): acpi-cnt\n" +
            "\n", MtreePrinter.ToText(s, disabled: true));
    }

    [Fact]
    public void Case64_TargetsOfDisabledAliasesAreListed()
    {
        var s = new MemorySystem();
        MemoryRegion system = C(s, "system", Max);
        s.CreateAddressSpace(system, "memory");
        MemoryRegion bmc = C(s, "bus master container", Max);
        s.CreateAddressSpace(bmc, "e1000");
        MemoryRegion bm = A(s, "bus master", system, 0, Max);
        bm.SetEnabled(false);
        bmc.AddSubregion(0, bm);
        Assert.Equal(
            "address-space: memory\n" +
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n" +
            "\n" +
            "address-space: e1000\n" +
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): bus master container\n" +
            "\n" +
            "memory-region: system\n" +
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n" +
            "\n", MtreePrinter.ToText(s));
        string flat = FlatViewPrinter.ToText(s);
        Assert.Equal(
            "FlatView #0\n" +
            " AS \"memory\", root: system\n" +
            " AS \"e1000\", root: bus master container\n" +
            " Root memory region: (none)\n" +
            "  No rendered FlatView\n" +
            "\n", flat);
    }

    [Fact]
    public void Case66_ContainerWithOpsFillsTheIoView()
    {
        var (s, _, _) = SmallPc();
        string flat = FlatViewPrinter.ToText(s);
        Assert.Contains("(prio 0, i/o): io @0000000000000008\n", flat);
        Assert.Contains("(prio 0, i/o): io @0000000000000020\n", flat);
    }

    [Fact]
    public void OwnersAndFlags()
    {
        var s = new MemorySystem();
        MemoryRegion system = C(s, "system", Max);
        s.CreateAddressSpace(system, "memory");
        var vga = MemoryRegionOwner.Device("VGA", "/machine/peripheral/vga", id: "vga", devicePath: "0000:00:02.0");
        var anon = MemoryRegionOwner.Device("e1000", "/machine/peripheral-anon/device[0]");
        var obj = MemoryRegionOwner.Object("memory-backend-ram", "/objects/mem0");
        var typeOnly = MemoryRegionOwner.Object("tpm-crb");
        MemoryRegion nv = MemoryRegion.CreateRam(s, "nvdimm", 0x1000, obj);
        nv.SetNonVolatile(true);
        system.AddSubregion(0x1000, MemoryRegion.CreateRam(s, "vga.vram", 0x1000, vga));
        system.AddSubregion(0x2000, MemoryRegion.CreateIo(s, "e1000-mmio", 0x1000, DummyOps, anon));
        system.AddSubregion(0x3000, nv);
        system.AddSubregion(0x4000, MemoryRegion.CreateRomDevice(s, "flash", 0x1000, DummyOps, typeOnly));
        Assert.Equal(
            "address-space: memory\n" +
            "  0000000000000000-ffffffffffffffff (prio 0, i/o): system parent:{obj path=/machine/unattached}\n" +
            "    0000000000001000-0000000000001fff (prio 0, ram): vga.vram owner:{dev id=vga}\n" +
            "    0000000000002000-0000000000002fff (prio 0, i/o): e1000-mmio owner:{dev path=/machine/peripheral-anon/device[0]}\n" +
            "    0000000000003000-0000000000003fff (prio 0, nv-ram): nvdimm owner:{obj path=/objects/mem0}\n" +
            "    0000000000004000-0000000000004fff (prio 0, romd): flash owner:{obj type=tpm-crb}\n" +
            "\n", MtreePrinter.ToText(s, owner: true));
        Assert.Contains("  0000000000003000-0000000000003fff (prio 0, nv-ram): nvdimm owner:{obj path=/objects/mem0}\n", FlatViewPrinter.ToText(s, owner: true));
    }

    [Fact]
    public void OverflowIsFlagged()
    {
        var s = new MemorySystem();
        MemoryRegion system = C(s, "system", Max);
        s.CreateAddressSpace(system, "memory");
        system.AddSubregion(0xffff_ffff_ffff_f000, M(s, "wraps", 0x2000));
        Assert.Contains("[DETECTED OVERFLOW!]     fffffffffffff000-0000000000000fff (prio 0, i/o): wraps\n", MtreePrinter.ToText(s));
    }
}
