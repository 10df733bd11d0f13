using System.Buffers.Binary;
using CsCheck;
using Memspace.Interop;
using Memspace.Kvm;

namespace Memspace.Tests.Vcpus;

/// <summary>
/// <c>kvm_run</c> pages built by hand, including the values a hostile guest or a confused kernel could
/// leave there: every exit decodes to a defined <see cref="PendingExit"/> whose data stays inside the page.
/// </summary>
public class KvmRunDecoderTests
{
    private const int PageSize = 4096;

    private static byte[] Page(uint reason)
    {
        byte[] page = new byte[PageSize];
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunExitReason), reason);
        return page;
    }

    private static byte[] IoPage(bool output, byte size, ushort port, uint count, ulong dataOffset)
    {
        byte[] page = Page(KvmAbi.ExitIo);
        page[KvmAbi.RunIoDirection] = output ? (byte)KvmAbi.IoOut : (byte)KvmAbi.IoIn;
        page[KvmAbi.RunIoSize] = size;
        BinaryPrimitives.WriteUInt16LittleEndian(page.AsSpan(KvmAbi.RunIoPort), port);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunIoCount), count);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(KvmAbi.RunIoDataOffset), dataOffset);
        return page;
    }

    private static byte[] MmioPage(ulong address, uint length, bool write)
    {
        byte[] page = Page(KvmAbi.ExitMmio);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(KvmAbi.RunMmioPhysAddr), address);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunMmioLen), length);
        page[KvmAbi.RunMmioIsWrite] = write ? (byte)1 : (byte)0;
        return page;
    }

    [Fact]
    public void PortOutputPointsIntoThePage()
    {
        byte[] page = IoPage(output: true, size: 1, port: 0x3f8, count: 1, dataOffset: 2048);
        page[2048] = (byte)'A';
        PendingExit e = KvmRunDecoder.Decode(page);
        Assert.Equal(VcpuExitKind.Io, e.Kind);
        Assert.Equal(0x3f8UL, e.Address);
        Assert.Equal(1u, e.Size);
        Assert.Equal(1u, e.Count);
        Assert.True(e.IsWrite);
        Assert.Equal((byte)'A', e.Data[0]);
        e.Data[0] = (byte)'B';                       // the span is the page itself: an IN answer lands there
        Assert.Equal((byte)'B', page[2048]);
    }

    [Fact]
    public void StringInputCoversEveryItem()
    {
        byte[] page = IoPage(output: false, size: 2, port: 0x1f0, count: 3, dataOffset: 1024);
        PendingExit e = KvmRunDecoder.Decode(page);
        Assert.Equal(VcpuExitKind.Io, e.Kind);
        Assert.False(e.IsWrite);
        Assert.Equal(6, e.Data.Length);
    }

    [Theory]
    [InlineData(PageSize, 1u, 1u)]                   // starts at the end
    [InlineData(PageSize - 3, 4u, 1u)]               // runs over the end
    [InlineData(1024, 4u, 0xffffffffu)]              // count far beyond the page
    [InlineData(ulong.MaxValue, 1u, 1u)]             // offset that wraps
    [InlineData(ulong.MaxValue - 7, 4u, 4u)]
    public void PortDataOutsideThePageIsRefused(ulong offset, uint size, uint count)
    {
        byte[] page = IoPage(output: true, size: (byte)size, port: 0x80, count: count, dataOffset: offset);
        PendingExit e = KvmRunDecoder.Decode(page);
        Assert.Equal(VcpuExitKind.Unhandled, e.Kind);
        Assert.Contains("outside the 4096-byte kvm_run mapping", e.Detail, StringComparison.Ordinal);
        Assert.True(e.Data.IsEmpty);
    }

    [Fact]
    public void MmioDataIsTheUnionsEightBytes()
    {
        byte[] page = MmioPage(0xfe000000, 4, write: true);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunMmioData), 0xcafef00d);
        PendingExit e = KvmRunDecoder.Decode(page);
        Assert.Equal(VcpuExitKind.Mmio, e.Kind);
        Assert.Equal(0xfe000000UL, e.Address);
        Assert.Equal(4, e.Data.Length);
        Assert.Equal(0xcafef00du, BinaryPrimitives.ReadUInt32LittleEndian(e.Data));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(9u)]
    [InlineData(0xffffffffu)]
    public void MmioLengthsBeyondEightAreRefused(uint length)
    {
        PendingExit e = KvmRunDecoder.Decode(MmioPage(0x1000, length, write: false));
        Assert.Equal(VcpuExitKind.Unhandled, e.Kind);
        Assert.Contains("malformed MMIO exit", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryOtherExitHasAKindAndADescription()
    {
        Assert.Equal(VcpuExitKind.Halt, KvmRunDecoder.Decode(Page(KvmAbi.ExitHlt)).Kind);
        Assert.Equal(VcpuExitKind.Shutdown, KvmRunDecoder.Decode(Page(KvmAbi.ExitShutdown)).Kind);
        Assert.Equal(VcpuExitKind.Interrupted, KvmRunDecoder.Decode(Page(KvmAbi.ExitIntr)).Kind);

        byte[] fail = Page(KvmAbi.ExitFailEntry);
        BinaryPrimitives.WriteUInt64LittleEndian(fail.AsSpan(KvmAbi.RunFailEntryReason), 0x80000021);
        PendingExit f = KvmRunDecoder.Decode(fail);
        Assert.Equal(VcpuExitKind.FailEntry, f.Kind);
        Assert.Equal("hardware entry failure reason 0x80000021", f.Detail);

        foreach ((uint type, string text) in new[] { (1u, "shutdown"), (2u, "reset"), (3u, "crash"), (77u, "type 77") })
        {
            byte[] ev = Page(KvmAbi.ExitSystemEvent);
            BinaryPrimitives.WriteUInt32LittleEndian(ev.AsSpan(KvmAbi.RunSystemEventType), type);
            PendingExit s = KvmRunDecoder.Decode(ev);
            Assert.Equal(VcpuExitKind.SystemEvent, s.Kind);
            Assert.Equal(text, s.Detail);
        }

        PendingExit unknown = KvmRunDecoder.Decode(Page(9999));
        Assert.Equal(VcpuExitKind.Unhandled, unknown.Kind);
        Assert.Equal("exit reason 9999", unknown.Detail);
    }

    [Fact]
    public void EmulationFailuresShowTheInstructionWhenKvmGivesIt()
    {
        byte[] page = Page(KvmAbi.ExitInternalError);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunInternalSuberror), KvmAbi.InternalErrorEmulation);
        BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(KvmAbi.RunInternalData), 1);
        page[KvmAbi.RunEmulationInsnSize] = 3;
        new byte[] { 0x0f, 0xb8, 0xc1 }.CopyTo(page, KvmAbi.RunEmulationInsnBytes);   // popcnt eax, ecx
        Assert.Equal("emulation failure, instruction bytes 0fb8c1", KvmRunDecoder.Decode(page).Detail);

        page[KvmAbi.RunEmulationInsnSize] = 200;     // nonsense size: no bytes shown, no overrun
        Assert.Equal("emulation failure", KvmRunDecoder.Decode(page).Detail);

        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunInternalSuberror), 3);
        PendingExit other = KvmRunDecoder.Decode(page);
        Assert.Equal(VcpuExitKind.InternalError, other.Kind);
        Assert.Equal("KVM internal error, suberror 3", other.Detail);
    }

    [Fact]
    public void APageTooSmallForKvmRunIsRefused()
    {
        PendingExit e = KvmRunDecoder.Decode(new byte[100]);
        Assert.Equal(VcpuExitKind.Unhandled, e.Kind);
        Assert.Contains("too small", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomPagesDecodeToDataInsideThePage()
    {
        Gen.Select(Gen.Int[0, 8192], Gen.UInt[0, 30], Gen.Byte.Array[64], Gen.ULong, Gen.UInt)
            .Sample((length, reason, union, offset, count) =>
            {
                byte[] page = new byte[length];
                if (length >= KvmRunDecoder.MinimumLength)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunExitReason), reason);
                    union.CopyTo(page, KvmAbi.RunExit);
                    // Sometimes plausible offsets and counts, sometimes wild ones.
                    BinaryPrimitives.WriteUInt64LittleEndian(page.AsSpan(KvmAbi.RunIoDataOffset), offset % 3 == 0 ? offset % (ulong)(length + 16) : offset);
                    BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(KvmAbi.RunIoCount), count % 2 == 0 ? count % 64 : count);
                }
                PendingExit e = KvmRunDecoder.Decode(page);
                if (e.Kind is VcpuExitKind.Io or VcpuExitKind.Mmio)
                {
                    Assert.True(page.AsSpan().Overlaps(e.Data, out int at) || e.Data.IsEmpty);
                    Assert.True(e.Data.IsEmpty || at + e.Data.Length <= page.Length);
                    Assert.Equal((ulong)e.Count * e.Size, (ulong)e.Data.Length);
                }
            }, iter: 20_000);
    }
}
