using Memspace.Machines;
using Memspace.Machines.Devices;
using Memspace.Rendering;

namespace Memspace.Tests.Devices;

/// <summary>
/// Seeded random accesses to every port and MMIO window of the platform and to every configuration
/// register of every function: guest input is hostile, so each access must end with a defined result
/// and no exception, whatever it remaps.
/// </summary>
public class DeviceFuzzTests
{
    [Theory]
    [InlineData("pc", 1)]
    [InlineData("q35", 2)]
    [InlineData("pc", 3)]
    [InlineData("q35", 4)]
    public void RandomAccessesNeverThrow(string machine, int seed)
    {
        var rng = new Random(seed);
        using var b = new PortBench(machine);
        X86Machine m = b.Machine;
        var u = MemTxAttrs.UnspecifiedAttrs;
        PciBus bus = m.HostBridge!.RootBus;
        int[] sizes = [1, 2, 4];
        for (int round = 0; round < 4; round++)
        {
            // Configuration space: every register of every function, random values and sizes.
            foreach (PciDevice f in bus.Functions.ToList())
            {
                for (int reg = 0; reg < 256; reg += rng.Next(1, 4))
                {
                    int size = sizes[rng.Next(3)];
                    if (f.Devfn == 0 && reg is >= 0x58 and < 0x98)
                    {
                        continue; // leave PAM/PCIEXBAR alone so RAM stays where the other accesses expect it
                    }
                    b.Config(f.Devfn, reg, (uint)rng.NextInt64(), size);
                    b.Config(f.Devfn, reg, size);
                }
            }
            // Every I/O range of the current view.
            foreach (FlatRange r in m.Io.CurrentMap.Ranges.ToList())
            {
                for (ulong a = r.Start; a < (ulong)UInt128.Min(r.End, 0x10000); a += (ulong)rng.Next(1, 3))
                {
                    int size = sizes[rng.Next(3)];
                    MemTxResult w = m.Io.Write(a, BitConverter.GetBytes(rng.Next())[..size]);
                    Assert.True(w is MemTxResult.Ok or MemTxResult.DecodeError or MemTxResult.AccessError, $"{w} at port 0x{a:x}");
                    var buf = new byte[size];
                    MemTxResult rd = m.Io.Read(a, buf);
                    Assert.True(rd is MemTxResult.Ok or MemTxResult.DecodeError or MemTxResult.AccessError, $"{rd} at port 0x{a:x}");
                }
            }
            // Every MMIO window of the memory view, a few hundred offsets each.
            foreach (FlatRange r in m.Memory.CurrentMap.Ranges.Where(r => !r.Region.IsRam).ToList())
            {
                for (int i = 0; i < 200; i++)
                {
                    ulong a = (r.Start + (ulong)rng.NextInt64((long)(ulong)UInt128.Min(r.Size, 1UL << 30))) & ~3UL;
                    m.Memory.StoreU32Le(a, (uint)rng.NextInt64(), u);
                    m.Memory.LoadU32Le(a, out _, u);
                }
            }
        }
        // The machine still answers: the host bridge's id through the ports.
        Assert.Equal(m.HostBridge.DeviceId, (ushort)(b.Config(0, 0) >> 16));
    }
}
