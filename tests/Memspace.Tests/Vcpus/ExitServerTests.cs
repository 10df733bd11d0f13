using Memspace.Regions;

namespace Memspace.Tests.Vcpus;

/// <summary>
/// Exits served through the address spaces without a vCPU: synthetic exits stand for what an
/// accelerator reports, including shapes a hostile guest or a broken accelerator could produce.
/// </summary>
public class ExitServerTests
{
    private sealed class Board
    {
        public Board()
        {
            System = new MemorySystem();
            var root = MemoryRegion.CreateContainer(System, "system", MemoryRegion.Size2To64);
            var io = MemoryRegion.CreateContainer(System, "io", 0x10000);
            Memory = System.CreateAddressSpace(root, "memory");
            Io = System.CreateAddressSpace(io, "I/O");
            root.AddSubregion(0, MemoryRegion.CreateRam(System, "ram", 0x10000));
            var ops = new MemoryRegionOps
            {
                Read = (a, s) => { Reads.Add((a, s)); return 0x11223344; },
                Write = (a, v, s) => Writes.Add((a, v, s)),
            };
            root.AddSubregion(0xfe000000, MemoryRegion.CreateIo(System, "dev", 0x1000, ops));
            io.AddSubregion(0x80, MemoryRegion.CreateIo(System, "port80", 4, ops));
        }

        public MemorySystem System { get; }

        public AddressSpace Memory { get; }

        public AddressSpace Io { get; }

        public List<(ulong Address, uint Size)> Reads { get; } = [];

        public List<(ulong Address, ulong Value, uint Size)> Writes { get; } = [];

        public VcpuExit Serve(in PendingExit e) => ExitServer.Serve(e, Memory, Io);
    }

    [Fact]
    public void PortOutputReachesTheDevice()
    {
        var b = new Board();
        byte[] data = [0x5a];
        VcpuExit exit = b.Serve(new PendingExit(VcpuExitKind.Io, 0x80, 1, 1, isWrite: true, data));
        Assert.Equal(new VcpuExit(VcpuExitKind.Io, 0x80, 1, 1, true, 0x5a, MemTxResult.Ok), exit);
        Assert.Equal([(0UL, 0x5aUL, 1u)], b.Writes);
        Assert.Null(exit.StopReason);
    }

    [Fact]
    public void PortInputFillsTheBufferEveryRepetition()
    {
        var b = new Board();
        byte[] data = new byte[6];
        VcpuExit exit = b.Serve(new PendingExit(VcpuExitKind.Io, 0x80, 2, 3, isWrite: false, data));
        Assert.Equal(MemTxResult.Ok, exit.Result);
        Assert.Equal(3, b.Reads.Count);
        Assert.Equal(new byte[] { 0x44, 0x33, 0x44, 0x33, 0x44, 0x33 }, data);
        Assert.Equal(0x3344UL, exit.Data);
    }

    [Fact]
    public void UnassignedPortsReadZeroWithDecodeError()
    {
        var b = new Board();
        byte[] data = [0xff, 0xff, 0xff, 0xff];
        VcpuExit exit = b.Serve(new PendingExit(VcpuExitKind.Io, 0x1234, 4, 1, isWrite: false, data));
        Assert.Equal(MemTxResult.DecodeError, exit.Result);
        Assert.Equal(new byte[4], data);
    }

    [Fact]
    public void MmioReadsAndWritesGoThroughTheMemoryAddressSpace()
    {
        var b = new Board();
        byte[] word = new byte[4];
        VcpuExit read = b.Serve(new PendingExit(VcpuExitKind.Mmio, 0xfe000010, 4, 1, isWrite: false, word));
        Assert.Equal(0x11223344UL, read.Data);
        Assert.Equal([(0x10UL, 4u)], b.Reads);
        byte[] ram = [1, 2, 3, 4, 5, 6, 7, 8];
        VcpuExit write = b.Serve(new PendingExit(VcpuExitKind.Mmio, 0x100, 8, 1, isWrite: true, ram));
        Assert.Equal(MemTxResult.Ok, write.Result);
        Assert.Equal(0x0807060504030201UL, b.Memory.LoadU64Le(0x100, out _, MemTxAttrs.UnspecifiedAttrs));
    }

    public static TheoryData<VcpuExitKind, ulong, uint, uint, int> MalformedIo() => new()
    {
        { VcpuExitKind.Io, 0x80, 3, 1, 3 },          // width 3
        { VcpuExitKind.Io, 0x80, 8, 1, 8 },          // width 8 is not a port access
        { VcpuExitKind.Io, 0x80, 1, 0, 0 },          // no items
        { VcpuExitKind.Io, 0x80, 2, 2, 3 },          // data shorter than count x size
        { VcpuExitKind.Io, 0x10000, 1, 1, 1 },       // port beyond 16 bits
        { VcpuExitKind.Mmio, 0x1000, 0, 1, 0 },
        { VcpuExitKind.Mmio, 0x1000, 9, 1, 9 },
        { VcpuExitKind.Mmio, 0x1000, 4, 1, 2 },      // data shorter than the length
    };

    [Theory]
    [MemberData(nameof(MalformedIo))]
    public void MalformedAccessesAreRefusedWithoutTouchingADevice(VcpuExitKind kind, ulong address, uint size, uint count, int dataLength)
    {
        var b = new Board();
        byte[] data = new byte[dataLength];
        VcpuExit exit = b.Serve(new PendingExit(kind, address, size, count, isWrite: true, data));
        Assert.Equal(VcpuExitKind.Unhandled, exit.Kind);
        Assert.StartsWith("malformed", exit.Detail, StringComparison.Ordinal);
        Assert.Equal(VcpuStopReason.Unhandled, exit.StopReason);
        Assert.Empty(b.Writes);
    }

    [Fact]
    public void EveryExitKindGetsADefinedResult()
    {
        var b = new Board();
        foreach (VcpuExitKind kind in Enum.GetValues<VcpuExitKind>())
        {
            VcpuExit exit = b.Serve(new PendingExit(kind, 0x80, 1, 1, isWrite: false, new byte[1], detail: "why"));
            Assert.True(exit.Kind == kind || exit.Kind == VcpuExitKind.Unhandled, kind.ToString());
            bool ends = kind is not (VcpuExitKind.Io or VcpuExitKind.Mmio or VcpuExitKind.Interrupted);
            Assert.Equal(ends, exit.StopReason is not null);
            if (kind is not (VcpuExitKind.Io or VcpuExitKind.Mmio))
            {
                Assert.Equal("why", exit.Detail);
            }
        }
    }
}
