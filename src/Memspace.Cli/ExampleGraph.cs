using Memspace.Regions;

namespace Memspace.Cli;

/// <summary>
/// A small PC-like memory graph used when no machine or dump is named: RAM through aliases, a PCI
/// hole with a BIOS and its ISA alias, a VGA window with a priority overlap, and an I/O space whose
/// root fills its own gaps.
/// </summary>
internal static class ExampleGraph
{
    public static MemorySystem Build()
    {
        var s = new MemorySystem();
        MemoryRegion system = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        var unassignedIo = new MemoryRegionOps
        {
            Read = static (_, _) => ulong.MaxValue,
            Write = static (_, _, _) => { },
        };
        MemoryRegion io = MemoryRegion.CreateIo(s, "io", 0x10000, unassignedIo);
        s.CreateAddressSpace(system, "memory");
        s.CreateAddressSpace(io, "I/O");
        s.CreateAddressSpace(system, "cpu-memory-0");

        var device = new MemoryRegionOps { Read = static (_, _) => 0, Write = static (_, _, _) => { } };
        using (s.Transaction())
        {
            MemoryRegion ram = MemoryRegion.CreateRam(s, "pc.ram", 0x8000000);
            system.AddSubregion(0, MemoryRegion.CreateAlias(s, "ram-below-4g", ram, 0, 0x8000000));
            MemoryRegion pci = MemoryRegion.CreateContainer(s, "pci", MemoryRegion.Size2To64);
            system.AddSubregion(0, pci, -1);
            MemoryRegion bios = MemoryRegion.CreateRom(s, "pc.bios", 0x40000);
            pci.AddSubregion(0xfffc0000, bios);
            pci.AddSubregion(0xe0000, MemoryRegion.CreateAlias(s, "isa-bios", bios, 0x20000, 0x20000), 1);
            MemoryRegion vga = MemoryRegion.CreateIo(s, "vga-lowmem", 0x20000, device);
            system.AddSubregion(0xa0000, vga, 1);
            system.AddSubregion(0xfed00000, MemoryRegion.CreateIo(s, "hpet", 0x400, device));
            io.AddSubregion(0x3f8, MemoryRegion.CreateIo(s, "serial", 8, device));
            io.AddSubregion(0x70, MemoryRegion.CreateIo(s, "rtc", 2, device));
        }
        return s;
    }
}
