using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>Region graphs the benchmarks render.</summary>
internal static class Scenarios
{
    private static readonly MemoryRegionOps s_ops = new() { Read = static (_, _) => 0, Write = static (_, _, _) => { } };

    /// <summary>A 2^64 container holding <paramref name="count"/> disjoint 4 KiB MMIO regions.</summary>
    public static (MemorySystem System, MemoryRegion Root, AddressSpace Space, List<MemoryRegion> Regions) ManyMmio(int count, MemorySystemOptions? options = null)
    {
        var s = new MemorySystem(options);
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        var regions = new List<MemoryRegion>(count);
        using (s.Transaction())
        {
            for (int i = 0; i < count; i++)
            {
                MemoryRegion mr = MemoryRegion.CreateIo(s, $"mmio{i}", 0x1000, s_ops);
                root.AddSubregion(0x1_0000_0000 + ((ulong)i * 0x2000), mr);
                regions.Add(mr);
            }
        }
        return (s, root, space, regions);
    }

    /// <summary>
    /// A PC-like machine with nesting, aliases and overlaps: RAM below and above 4 GiB through aliases,
    /// a PCI hole with 16 buses of 32 BARs each (some overlapping at higher priority), 13 PAM-style
    /// alias quadruples of which one is enabled, an SMRAM window, option ROMs, and bus-master address
    /// spaces whose roots alias the system container.
    /// </summary>
    public static (MemorySystem System, MemoryRegion Root, AddressSpace Space) RealisticMix()
    {
        var s = new MemorySystem();
        MemoryRegion system = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(system, "memory");
        using (s.Transaction())
        {
            MemoryRegion ram = MemoryRegion.CreateRam(s, "pc.ram", 8UL << 30);
            system.AddSubregion(0, MemoryRegion.CreateAlias(s, "ram-below-4g", ram, 0, 0x8000_0000));
            system.AddSubregion(0x1_0000_0000, MemoryRegion.CreateAlias(s, "ram-above-4g", ram, 0x8000_0000, (8UL << 30) - 0x8000_0000));
            MemoryRegion pci = MemoryRegion.CreateContainer(s, "pci", MemoryRegion.Size2To64);
            system.AddSubregion(0, pci, -1);
            MemoryRegion bios = MemoryRegion.CreateRom(s, "pc.bios", 0x40000);
            pci.AddSubregion(0xfffc0000, bios);
            pci.AddSubregion(0xe0000, MemoryRegion.CreateAlias(s, "isa-bios", bios, 0x20000, 0x20000), 1);
            for (int bus = 0; bus < 16; bus++)
            {
                MemoryRegion b = MemoryRegion.CreateContainer(s, $"pci-bus{bus}", 0x100_0000);
                pci.AddSubregion(0xc000_0000 + ((ulong)bus * 0x100_0000), b);
                for (int bar = 0; bar < 32; bar++)
                {
                    MemoryRegion mr = MemoryRegion.CreateIo(s, $"bar{bus}.{bar}", 0x8000, s_ops);
                    b.AddSubregion((ulong)bar * 0x6000, mr, bar % 3);
                }
            }
            MemoryRegion pamBlock = MemoryRegion.CreateContainer(s, "pam", MemoryRegion.Size2To64);
            system.AddSubregion(0, pamBlock, 1);
            for (int i = 0; i < 13; i++)
            {
                ulong start = i == 0 ? 0xf0000UL : 0xc0000UL + ((ulong)(i - 1) * 0x4000);
                ulong size = i == 0 ? 0x10000UL : 0x4000UL;
                MemoryRegion[] modes =
                [
                    MemoryRegion.CreateAlias(s, $"pam-ram{i}", ram, start, size),
                    MemoryRegion.CreateAlias(s, $"pam-pci{i}", ram, start, size),
                    MemoryRegion.CreateAlias(s, $"pam-rom{i}", ram, start, size),
                    MemoryRegion.CreateAlias(s, $"pam-pci-b{i}", pci, start, size),
                ];
                modes[2].SetReadOnly(true);
                foreach (MemoryRegion m in modes)
                {
                    pamBlock.AddSubregion(start, m);
                    m.SetEnabled(m == modes[i % 4]);
                }
            }
            MemoryRegion smram = MemoryRegion.CreateAlias(s, "smram-region", pci, 0xa0000, 0x20000);
            system.AddSubregion(0xa0000, smram, 1);
            MemoryRegion vga = MemoryRegion.CreateIo(s, "vga-lowmem", 0x20000, s_ops);
            pci.AddSubregion(0xa0000, vga, 1);
            for (int i = 0; i < 8; i++)
            {
                MemoryRegion bmc = MemoryRegion.CreateContainer(s, "bus master container", MemoryRegion.Size2To64);
                MemoryRegion bm = MemoryRegion.CreateAlias(s, "bus master", system, 0, MemoryRegion.Size2To64);
                bmc.AddSubregion(0, bm);
                s.CreateAddressSpace(bmc, $"dev{i}");
            }
        }
        return (s, system, space);
    }
}
