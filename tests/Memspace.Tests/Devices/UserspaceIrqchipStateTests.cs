using Memspace.Machines.Devices;
using Memspace.Machines.State;
using Memspace.Regions;

namespace Memspace.Tests.Devices;

/// <summary>The userspace 8259 pair and 8254 of Unicorn machines carry their registers through saved state.</summary>
public class UserspaceIrqchipStateTests
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    private sealed class Board : IDisposable
    {
        public Board()
        {
            System = new MemorySystem();
            var root = MemoryRegion.CreateContainer(System, "io", 0x10000);
            Io = System.CreateAddressSpace(root, "I/O");
            Pic = new Pic8259Pair(System);
            Pit = new Pit8254(System, () => Pic.Pulse(0));
            Pic.MapInto(root);
            root.AddSubregion(0x40, Pit.Region);
        }

        public MemorySystem System { get; }

        public AddressSpace Io { get; }

        public Pic8259Pair Pic { get; }

        public Pit8254 Pit { get; }

        public void Out(ushort port, byte value) => Assert.Equal(MemTxResult.Ok, Io.StoreU8(port, value, U));

        public byte In(ushort port) => Io.LoadU8(port, out _, U);

        public void Dispose()
        {
            Pit.Dispose();
            System.Dispose();
        }
    }

    private static byte[] Save(IDeviceState d)
    {
        var w = new DeviceStateWriter();
        d.SaveState(w);
        return w.ToArray();
    }

    [Fact]
    public void ThePairAndTheTimerMoveWithTheirRegisters()
    {
        using var a = new Board();
        foreach ((ushort port, byte vector, byte cascade, byte mask) in new (ushort, byte, byte, byte)[] { (0x20, 0x08, 0x04, 0xfa), (0xa0, 0x70, 0x02, 0xfe) })
        {
            a.Out(port, 0x11);
            a.Out((ushort)(port + 1), vector);
            a.Out((ushort)(port + 1), cascade);
            a.Out((ushort)(port + 1), 0x03); // auto-EOI
            a.Out((ushort)(port + 1), mask);
        }
        a.Out(0x4d1, 0x0c);
        a.Pic.SetIrq(8, true); // RTC line raised: the slave's request cascades to the master's input 2
        a.Out(0x43, 0x36);
        a.Out(0x40, 0xff);
        a.Out(0x40, 0xff); // counter 0 running, mode 3
        a.Out(0x43, 0xb0);
        a.Out(0x42, 0x34); // counter 2: LSB written, MSB pending
        byte[] pic = Save(a.Pic), pit = Save(a.Pit);

        using var b = new Board();
        b.Pic.LoadState(new DeviceStateReader(b.Pic.StateName, 1, pic));
        b.Pit.LoadState(new DeviceStateReader(b.Pit.StateName, 1, pit));
        Assert.Equal(pic, Save(b.Pic));
        Assert.Equal(0xfa, b.In(0x21));
        Assert.Equal(0x0c, b.In(0x4d1));
        Assert.True(b.Pic.InterruptPending);
        Assert.Equal(0x70, b.Pic.Acknowledge()); // vector of IRQ 8 on the slave
        Assert.True(b.Pit.Running);
        Assert.Equal(3, b.Pit.Mode(0));
        Assert.Equal(0xffff, b.Pit.Reload(0));
        b.Out(0x42, 0x12);
        Assert.Equal(0x1234, b.Pit.Reload(2));
    }

    [Fact]
    public void BadStateIsRefused()
    {
        using var a = new Board();
        byte[] pic = Save(a.Pic);
        for (int cut = 0; cut < pic.Length; cut++)
        {
            Assert.Throws<DeviceStateException>(() => a.Pic.LoadState(new DeviceStateReader(a.Pic.StateName, 1, pic[..cut])));
        }
        byte[] pit = Save(a.Pit);
        for (int i = 0; i < pit.Length; i++)
        {
            byte[] flipped = (byte[])pit.Clone();
            flipped[i] ^= 0xff;
            try
            {
                a.Pit.LoadState(new DeviceStateReader(a.Pit.StateName, 1, flipped));
            }
            catch (DeviceStateException)
            {
            }
        }
        Assert.Throws<DeviceStateException>(() => a.Pit.LoadState(new DeviceStateReader(a.Pit.StateName, 2, pit)));
    }
}
