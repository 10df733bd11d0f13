using Memspace.Machines;
using Memspace.Machines.Devices;

namespace Memspace.Tests.Machines;

/// <summary>
/// SeaBIOS 1.16.2's configuration writes on QEMU 7.2 under KVM, in its order, as measured in
/// shared/reference/seabios-on-qemu72.md §4 (PCI configuration writes with their values), replayed
/// through the machine's own ports: 0xcf8/0xcfc, and on q35 the MMCONFIG window once SeaBIOS has
/// placed it. BAR sizing writes all ones and restores the register; ROM BARs are probed the same way.
/// </summary>
internal static class SeaBiosReplay
{
    public static void Apply(X86Machine m)
    {
        var cfg = new ConfigPorts(m);
        switch (m)
        {
            case PcMachine pc:
                cfg.Write(0x00, 0x58, 0x33333000, 4);
                cfg.Write(0x00, 0x5c, 0x33333333, 4);
                SizeBars(cfg, pc.I440fx.RootBus);
                cfg.Write(0x09, 0x20, 0xc000, 4);
                foreach (PciDevice f in pc.I440fx.RootBus.Functions)
                {
                    cfg.Write(f.Devfn, PciIds.Command, 0x103, 2);
                }
                cfg.Write(0x08, 0x60, 0x0a, 1);
                cfg.Write(0x08, 0x61, 0x0a, 1);
                cfg.Write(0x08, 0x62, 0x0b, 1);
                cfg.Write(0x08, 0x63, 0x0b, 1);
                cfg.Write(0x09, 0x40, 0x8000, 2);
                cfg.Write(0x09, 0x42, 0x8000, 2);
                cfg.Write(0x0b, 0x3c, 0x0a, 1);
                cfg.Write(0x0b, 0x3c, 0x09, 1);
                cfg.Write(0x0b, 0x40, 0x601, 4);
                cfg.Write(0x0b, 0x80, 0x01, 1);
                cfg.Write(0x0b, 0x90, 0x701, 4);
                cfg.Write(0x0b, 0xd2, 0x09, 1);
                ProbeRoms(cfg, pc.I440fx.RootBus);
                cfg.Write(0x00, 0x58, 0x11111000, 4);
                cfg.Write(0x00, 0x5c, 0x33111111, 4);
                break;
            case Q35Machine q35:
                cfg.Write(0x00, 0x90, 0x33333330, 4);
                cfg.Write(0x00, 0x94, 0x333333, 4);
                cfg.Write(0x00, 0x60, 0, 4);
                cfg.Write(0x00, 0x64, 0, 4);
                cfg.Write(0x00, 0x60, 0xb0000001, 4);
                cfg.Mmconfig = 0xb0000000;
                SizeBars(cfg, q35.Mch.RootBus);
                cfg.Write(0xfb, 0x20, 0xc000, 4);
                cfg.Write(0xfa, 0x20, 0xc040, 4);
                cfg.Write(0xfa, 0x24, 0xfebff000, 4);
                cfg.Write(0x00, PciIds.Command, 0x103, 2);
                byte[] pirq = [0x0a, 0x0a, 0x0b, 0x0b];
                for (int i = 0; i < 4; i++)
                {
                    cfg.Write(0xf8, 0x60 + i, pirq[i], 1);
                    cfg.Write(0xf8, 0x68 + i, pirq[i], 1);
                }
                cfg.Write(0xf8, 0x40, 0x601, 4);
                cfg.Write(0xf8, 0x44, 0x80, 1);
                cfg.Write(0xf8, 0xf0, 0xfed1c001, 4);
                cfg.Write(0xf8, PciIds.Command, 0x103, 2);
                cfg.Write(0xfa, 0x3c, 0x0a, 1);
                cfg.Write(0xfa, PciIds.Command, 0x103, 2);
                cfg.Write(0xfb, 0x3c, 0x0a, 1);
                cfg.Write(0xfb, 0x20, 0x701, 4);
                cfg.Write(0xfb, 0x40, 0x01, 1);
                cfg.Write(0xfb, PciIds.Command, 0x103, 2);
                ProbeRoms(cfg, q35.Mch.RootBus);
                cfg.Write(0xfa, PciIds.Command, 0x107, 2);
                cfg.Write(0x00, 0x90, 0x11111110, 4);
                cfg.Write(0x00, 0x94, 0x331111, 4);
                break;
            default:
                throw new ArgumentException($"no SeaBIOS replay for {m.Name}");
        }
    }

    private static void SizeBars(ConfigPorts cfg, PciBus bus)
    {
        foreach (PciDevice f in bus.Functions)
        {
            for (int bar = 0; bar < 6; bar++)
            {
                int reg = PciIds.Bar0 + (4 * bar);
                uint old = cfg.Read(f.Devfn, reg, 4);
                cfg.Write(f.Devfn, reg, 0xffffffff, 4);
                cfg.Read(f.Devfn, reg, 4);
                cfg.Write(f.Devfn, reg, old, 4);
            }
        }
    }

    private static void ProbeRoms(ConfigPorts cfg, PciBus bus)
    {
        foreach (PciDevice f in bus.Functions)
        {
            uint old = cfg.Read(f.Devfn, PciIds.RomAddress, 4);
            cfg.Write(f.Devfn, PciIds.RomAddress, 0xfffffffe, 4);
            cfg.Read(f.Devfn, PciIds.RomAddress, 4);
            cfg.Write(f.Devfn, PciIds.RomAddress, old, 4);
        }
    }

    /// <summary>Configuration accesses as a guest makes them: mechanism #1 on 0xcf8/0xcfc, or MMCONFIG once it is set.</summary>
    internal sealed class ConfigPorts(Machine m)
    {
        public ulong Mmconfig { get; set; }

        public void Write(int devfn, int reg, uint value, int size)
        {
            byte[] bytes = BitConverter.GetBytes(value)[..size];
            if (Mmconfig != 0)
            {
                Assert.Equal(MemTxResult.Ok, m.Memory.Write(Mmconfig + ((ulong)devfn << 12) + (ulong)reg, bytes));
                return;
            }
            Assert.Equal(MemTxResult.Ok, m.Io.StoreU32Le(0xcf8, 0x8000_0000u | ((uint)devfn << 8) | (uint)(reg & 0xfc), MemTxAttrs.UnspecifiedAttrs));
            Assert.Equal(MemTxResult.Ok, m.Io.Write(0xcfc + (ulong)(reg & 3), bytes));
        }

        public uint Read(int devfn, int reg, int size)
        {
            var bytes = new byte[4];
            if (Mmconfig != 0)
            {
                Assert.Equal(MemTxResult.Ok, m.Memory.Read(Mmconfig + ((ulong)devfn << 12) + (ulong)reg, bytes.AsSpan(0, size)));
            }
            else
            {
                Assert.Equal(MemTxResult.Ok, m.Io.StoreU32Le(0xcf8, 0x8000_0000u | ((uint)devfn << 8) | (uint)(reg & 0xfc), MemTxAttrs.UnspecifiedAttrs));
                Assert.Equal(MemTxResult.Ok, m.Io.Read(0xcfc + (ulong)(reg & 3), bytes.AsSpan(0, size)));
            }
            return BitConverter.ToUInt32(bytes);
        }
    }
}
