using Memspace.Machines;
using Memspace.Machines.Devices;
using Memspace.Regions;
using Memspace.Tests.Support;
using static Memspace.Tests.Support.QemuReference;

namespace Memspace.Tests.Machines;

/// <summary>
/// Reads what SeaBIOS left in the host bridge's registers from QEMU's <c>info mtree -D</c> (which PAM
/// alias is enabled, which SMRAM windows are open, where MMCONFIG is) and writes those values through
/// the machine's configuration ports 0xcf8/0xcfc, as the firmware did. The vapic option ROM's
/// "kvmvapic-rom" mapping (a device Memspace does not model) is copied as it is.
/// </summary>
internal static class FirmwareState
{
    public static void Apply(X86Machine m, string dump)
    {
        List<Line> memory = [.. Section(dump, "address-space: memory").Select(Parse).Where(l => l is not null).Select(l => l!.Value)];
        List<Line> smram = m.Name == "microvm" ? [] : [.. Section(dump, "memory-region: smram").Select(Parse).Where(l => l is not null).Select(l => l!.Value)];
        bool Enabled(List<Line> lines, string name) => lines.Any(l => l.Name == name && !l.Disabled);
        switch (m.HostBridge)
        {
            case I440fxHostBridge:
                WritePam(m, memory, I440fxHostBridge.PamRegister);
                byte value = 0x02;
                value |= (byte)(Enabled(memory, "smram-region") ? 0 : 0x40);
                value |= (byte)(smram.Any(l => l.Name == "smram" && !l.Disabled) ? 0x08 : 0);
                WriteConfig(m, I440fxHostBridge.SmramRegister, value, 1);
                break;
            case MchHostBridge:
                WritePam(m, memory, MchHostBridge.PamRegister);
                bool low = Enabled(smram, "smram-low"), high = Enabled(smram, "smram-high"), openHigh = Enabled(memory, "smram-open-high");
                bool g = low || high, h = high || openHigh, dOpen = !Enabled(memory, "smram-region") || openHigh;
                Line tseg = smram.Single(l => l.Name == "tseg-window");
                byte esmramc = (byte)(0x38 | (h ? 0x80 : 0));
                if (!tseg.Disabled)
                {
                    int sizeBits = (tseg.Size >> 20) switch { 1 => 0, 2 => 1, 8 => 2, _ => 3 };
                    esmramc |= (byte)(1 | (sizeBits << 1));
                }
                WriteConfig(m, MchHostBridge.EsmramcRegister, esmramc, 1);
                WriteConfig(m, MchHostBridge.SmramRegister, (byte)(0x02 | (g ? 0x08 : 0) | (dOpen ? 0x40 : 0)), 1);
                if (memory.FirstOrDefault(l => l.Name == "pcie-mmcfg-mmio") is { Kind: not null } mmcfg)
                {
                    uint length = (mmcfg.Size >> 20) switch { 256 => 0u, 128 => 1u, _ => 2u };
                    WriteConfig(m, MchHostBridge.PciexbarRegister, (uint)mmcfg.Start | (length << 1) | 1, 4);
                }
                if (Enabled(smram, "smbase-window"))
                {
                    WriteConfig(m, MchHostBridge.FSmbaseRegister, 0xff, 1);
                    WriteConfig(m, MchHostBridge.FSmbaseRegister, 0x02, 1);
                }
                break;
        }
        if (memory.FirstOrDefault(l => l.Name == "kvmvapic-rom") is { Kind: not null } vapic)
        {
            var x = (X86Machine)m;
            MemoryRegion alias = MemoryRegion.CreateAlias(m.System, "kvmvapic-rom", x.Ram, vapic.Start, vapic.Size);
            m.SystemMemory.AddSubregion(vapic.Start, alias, vapic.Priority);
        }
    }

    private static void WritePam(X86Machine m, List<Line> memory, int pamRegister)
    {
        var registers = new byte[7];
        for (int i = 0; i < Pam.Count; i++)
        {
            (uint start, _) = Pam.Segment(i);
            Line on = memory.Single(l => l.Start == start && l.Name.StartsWith("pam-", StringComparison.Ordinal) && !l.Disabled);
            int attribute = on.Name switch
            {
                "pam-ram" => 3,
                "pam-rom" => 1,
                _ => on.Text.Contains("@pci ", StringComparison.Ordinal) ? 0 : 2,
            };
            registers[(i + 1) / 2] |= (byte)(attribute << ((i & 1) == 0 ? 4 : 0));
        }
        for (int r = 0; r < 7; r++)
        {
            WriteConfig(m, pamRegister + r, registers[r], 1);
        }
    }

    /// <summary>A configuration write to 00:00.0 through ports 0xcf8/0xcfc, as a guest does it.</summary>
    public static void WriteConfig(Machine m, int register, uint value, int size)
    {
        Assert.Equal(MemTxResult.Ok, m.Io.StoreU32Le(0xcf8, 0x8000_0000u | (uint)(register & 0xfc), MemTxAttrs.UnspecifiedAttrs));
        byte[] bytes = BitConverter.GetBytes(value)[..size];
        Assert.Equal(MemTxResult.Ok, m.Io.Write(0xcfc + (ulong)(register & 3), bytes));
    }
}
