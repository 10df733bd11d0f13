using Iced.Intel;
using Memspace.Machines;
using Memspace.Machines.Devices;
using Memspace.Regions;
using Memspace.Tests.Support;
using static Iced.Intel.AssemblerRegisters;

namespace Memspace.Tests.Devices;

/// <summary>The userspace 8259 pair and 8254 timer, driven through their ports as a guest drives them.</summary>
[Collection(nameof(Kvm.KvmLive))]
public class PicPitTests
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    private sealed class Board : IDisposable
    {
        public Board()
        {
            System = new MemorySystem();
            IoRoot = MemoryRegion.CreateIo(System, "io", 0x10000, new MemoryRegionOps { Read = (_, _) => ulong.MaxValue, Write = (_, _, _) => { } });
            Io = System.CreateAddressSpace(IoRoot, "I/O");
            Pic = new Pic8259Pair(System);
            Pic.MapInto(IoRoot);
        }

        public MemorySystem System { get; }

        public MemoryRegion IoRoot { get; }

        public AddressSpace Io { get; }

        public Pic8259Pair Pic { get; }

        public void Out(ushort port, byte value) => Io.Write(port, [value], U);

        public byte In(ushort port)
        {
            byte[] b = new byte[1];
            Io.Read(port, b, U);
            return b[0];
        }

        /// <summary>The BIOS's initialisation: vectors 0x08 and 0x70, cascade on 2, 8086 mode, everything unmasked.</summary>
        public void Init(bool autoEoi = false)
        {
            Out(0x20, 0x11); Out(0x21, 0x08); Out(0x21, 0x04); Out(0x21, (byte)(autoEoi ? 0x03 : 0x01));
            Out(0xa0, 0x11); Out(0xa1, 0x70); Out(0xa1, 0x02); Out(0xa1, (byte)(autoEoi ? 0x03 : 0x01));
            Out(0x21, 0x00); Out(0xa1, 0x00);
        }

        public void Dispose() => System.Dispose();
    }

    [Fact]
    public void EdgeRequestsAreVectoredByPriorityAndHeldInServiceUntilEoi()
    {
        using var b = new Board();
        b.Init();
        b.Pic.Pulse(4);
        b.Pic.Pulse(1);
        Assert.True(b.Pic.InterruptPending);
        Assert.Equal(0x09, b.Pic.Acknowledge());          // IRQ 1 before IRQ 4
        Assert.False(b.Pic.InterruptPending);              // IRQ 4 waits behind IRQ 1 in service
        b.Out(0x20, 0x0b);                                 // OCW3: read ISR
        Assert.Equal(0x02, b.In(0x20));
        b.Out(0x20, 0x20);                                 // non-specific EOI
        Assert.True(b.Pic.InterruptPending);
        Assert.Equal(0x0c, b.Pic.Acknowledge());
        b.Out(0x20, 0x64);                                 // specific EOI for IRQ 4
        b.Out(0x20, 0x0b);
        Assert.Equal(0x00, b.In(0x20));
        Assert.False(b.Pic.InterruptPending);
    }

    [Fact]
    public void SlaveRequestsCascadeThroughIrq2AndMasksHoldThem()
    {
        using var b = new Board();
        b.Init();
        b.Out(0xa1, 0x01);                                 // mask IRQ 8
        b.Pic.Pulse(8);
        Assert.False(b.Pic.InterruptPending);
        Assert.Equal(0x01, b.In(0xa1));
        b.Out(0xa1, 0x00);
        Assert.True(b.Pic.InterruptPending);
        Assert.Equal(0x70, b.Pic.Acknowledge());
        b.Out(0xa0, 0x20);
        b.Out(0x20, 0x20);
        b.Pic.Pulse(14);
        Assert.Equal(0x76, b.Pic.Acknowledge());
    }

    [Fact]
    public void LevelTriggeredInputsFollowTheLineAndAutoEoiLeavesNothingInService()
    {
        using var b = new Board();
        b.Init(autoEoi: true);
        b.Out(0x4d1, 0xff);                                // ELCR: only writable bits stick
        Assert.Equal(0xde, b.In(0x4d1));
        b.Out(0x4d0, 0x20);                                // IRQ 5 level-triggered
        b.Pic.SetIrq(5, true);
        Assert.Equal(0x0d, b.Pic.Acknowledge());
        Assert.True(b.Pic.InterruptPending);               // still asserted, auto-EOI: asks again
        b.Pic.SetIrq(5, false);
        Assert.False(b.Pic.InterruptPending);
        b.Out(0x20, 0x0b);
        Assert.Equal(0x00, b.In(0x20));
    }

    [Fact]
    public void PollReadsAcknowledgeTheHighestRequest()
    {
        using var b = new Board();
        b.Init();
        b.Out(0x21, 0xff);                                 // polling works with everything masked? no: masked inputs are not polled
        b.Pic.Pulse(3);
        b.Out(0x20, 0x0c);
        Assert.Equal(0x00, b.In(0x20));
        b.Out(0x21, 0x00);
        b.Out(0x20, 0x0c);
        Assert.Equal(0x83, b.In(0x20));
        b.Out(0x20, 0x0b);
        Assert.Equal(0x08, b.In(0x20));                    // IRQ 3 in service
    }

    [Fact]
    public void SeededRandomPortWritesKeepThePairConsistent()
    {
        var random = new Random(12);
        ushort[] ports = [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1];
        for (int round = 0; round < 50; round++)
        {
            using var b = new Board();
            for (int i = 0; i < 400; i++)
            {
                switch (random.Next(4))
                {
                    case 0:
                        b.Pic.SetIrq(random.Next(16), random.Next(2) == 0);
                        break;
                    case 1:
                        _ = b.In(ports[random.Next(ports.Length)]);
                        break;
                    case 2:
                        if (b.Pic.InterruptPending)
                        {
                            int vector = b.Pic.Acknowledge();
                            Assert.InRange(vector, 0, 255);
                            Assert.True((vector & 7) == vector - (vector & 0xf8));
                        }
                        break;
                    default:
                        b.Out(ports[random.Next(ports.Length)], (byte)random.Next(256));
                        break;
                }
                Assert.Equal(0, b.Pic.Master.Elcr & ~b.Pic.Master.ElcrMask);
                Assert.Equal(0, b.Pic.Slave.Elcr & ~b.Pic.Slave.ElcrMask);
                // INTR is asserted exactly when an unmasked request outranks everything in service.
                Assert.Equal(b.Pic.InterruptPending, b.Pic.Master.PendingIrq() >= 0);
            }
        }
    }

    [Fact]
    public void PitCountsDownAndLatchesAndReadsBack()
    {
        using var s = new MemorySystem();
        MemoryRegion io = MemoryRegion.CreateIo(s, "io", 0x10000, new MemoryRegionOps { Read = (_, _) => ulong.MaxValue, Write = (_, _, _) => { } });
        AddressSpace space = s.CreateAddressSpace(io, "I/O");
        long edges = 0;
        using var pit = new Pit8254(s, () => Interlocked.Increment(ref edges));
        io.AddSubregion(0x40, pit.Region);
        void Out(ushort port, byte v) => space.Write(port, [v], U);
        byte In(ushort port)
        {
            byte[] x = new byte[1];
            space.Read(port, x, U);
            return x[0];
        }
        Out(0x43, 0xb4);                                   // counter 2, lobyte/hibyte, mode 2
        Out(0x42, 0xff);
        Out(0x42, 0xff);
        Out(0x43, 0x80);                                   // latch counter 2
        int first = In(0x42) | (In(0x42) << 8);
        int second = first;
        Assert.True(SpinWait.SpinUntil(() =>               // the counter runs at 1.193 MHz: the latch changes
        {
            Out(0x43, 0x80);
            second = In(0x42) | (In(0x42) << 8);
            return second != first;
        }, TimeSpan.FromSeconds(5)), "counter 2 does not count");
        Assert.InRange(first, 1, 0xffff);
        Assert.InRange(second, 1, 0xffff);
        Out(0x43, 0xe8);                                   // read-back: status of counter 2 only
        Assert.Equal(0x34, In(0x42) & 0x3f);               // lobyte/hibyte, mode 2, binary
        Assert.Equal(2, pit.Mode(2));
        Assert.Equal(0xffff, pit.Reload(2));
        Out(0x43, 0x34);                                   // counter 0, mode 2, ~1 kHz
        Out(0x40, 0xa9);
        Out(0x40, 0x04);
        Assert.True(pit.Running);
        SpinWait.SpinUntil(() => Interlocked.Read(ref edges) >= 3, TimeSpan.FromSeconds(10));
        Assert.True(Interlocked.Read(ref edges) >= 3);
        Out(0x43, 0x30);                                   // new mode word: counter 0 stops
        Assert.False(pit.Running);
    }

    [Fact]
    public void TimerInterruptsWakeAHaltedUnicornGuest()
    {
        KvmGuest.Require("unicorn");
        using var m = (X86Machine)Machine.Create("q35", new MachineOptions { Accelerator = MachineAccelerator.Unicorn });
        Assert.NotNull(m.Pic);
        Assert.Contains(m.Io.CurrentMap.Ranges, r => r.Region.Name == "pit" && r.Start == 0x40);
        Assert.Contains(m.Io.CurrentMap.Ranges, r => r.Region.Name == "pic" && r.Start == 0xa0);
        Assert.Contains(m.Io.CurrentMap.Ranges, r => r.Region.Name == "elcr" && r.Start == 0x4d0);
        // IVT entry 8 -> 0000:2000: count ticks at 0x500, EOI, iret.
        m.Memory.StoreU32Le(8 * 4, 0x2000, U);
        Load(m, 0x2000, a =>
        {
            a.inc(__word_ptr[0x500]);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.iret();
        });
        Load(m, 0x1000, a =>
        {
            Label wait = a.CreateLabel();
            a.mov(sp, 0x7000);
            foreach ((byte port, byte value) in new (byte, byte)[] { (0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0xa0, 0x11), (0xa1, 0x70), (0xa1, 0x02), (0xa1, 0x01), (0x21, 0xfe), (0xa1, 0xff), (0x43, 0x34), (0x40, 0xa9), (0x40, 0x04) })
            {
                a.mov(al, value);
                a.@out(port, al);
            }
            a.sti();
            a.Label(ref wait);
            a.hlt();
            a.cmp(__word_ptr[0x500], 5);
            a.jb(wait);
            a.cli();
            a.mov(al, 0x30);
            a.@out(0x43, al);                              // stop counter 0
            a.hlt();
        });
        using Vcpu vcpu = m.CreateVcpu();
        vcpu.SetRealMode(0, 0x1000);
        VcpuStop stop = vcpu.Run();
        Assert.True(stop.Reason == VcpuStopReason.Halted, stop.Detail);
        Assert.InRange(m.Memory.LoadU16Le(0x500, out _, U), (ushort)5, (ushort)6);
        Assert.True(m.Pit!.Ticks >= 5);
    }

    private static void Load(Machine m, ulong address, Action<Assembler> code)
    {
        var a = new Assembler(16);
        code(a);
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), address);
        m.Memory.Write(address, stream.ToArray(), U);
    }
}
