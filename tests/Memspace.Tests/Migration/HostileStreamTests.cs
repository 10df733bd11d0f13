using System.Buffers.Binary;
using System.Diagnostics;
using Memspace.Machines;
using Memspace.Migration;
using static Memspace.Tests.Migration.MigrationFixtures;

namespace Memspace.Tests.Migration;

/// <summary>Well-framed records (valid CRCs) whose contents are wrong: each is refused naming the record and what is wrong.</summary>
public sealed class HostileStreamTests
{
    private static byte[] HeaderPayload(Machine m, int vcpus)
    {
        // The header as the source would write it, taken from a real stream.
        var buffer = new MemoryStream();
        new MigrationSource(m, new FakeVcpus(vcpus)).Migrate(buffer, RunningReply());
        buffer.Position = 0;
        var reader = new MigrationRecordReader(buffer);
        reader.ReadStart();
        return reader.Read().Payload;
    }

    private static string Refusal(Action<MigrationRecordWriter, byte[]> records)
    {
        (Machine m, _) = Build(ram: 4UL << 20);
        using var _1 = m;
        byte[] header = HeaderPayload(m, 1);
        var s = new MemoryStream();
        var w = new MigrationRecordWriter(s);
        w.WriteStart();
        w.Write(MigrationRecordType.Header, header);
        records(w, header);
        var v = new FakeVcpus(1);
        v.Pause();
        var e = Assert.ThrowsAny<MigrationException>(() => new MigrationDestination(m, v).Receive(new MemoryStream(s.ToArray()), null));
        Assert.True(v.Paused);
        return e.Message;
    }

    private static byte[] Pages(uint block, ulong first, uint count, int contents)
    {
        var b = new byte[16 + contents];
        BinaryPrimitives.WriteUInt32LittleEndian(b, block);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(4), first);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), count);
        return b;
    }

    private static byte[] Zeros(uint block, ulong first, ulong count)
    {
        var b = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(b, block);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(4), first);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(12), count);
        return b;
    }

    [Fact]
    public void PageRecordsOutsideTheirBlockOrOfTheWrongSizeAreRefused()
    {
        Assert.Contains("block index 99", Refusal((w, _) => w.Write(MigrationRecordType.Pages, Pages(99, 0, 1, 4096))), StringComparison.Ordinal);
        Assert.Contains("lie outside RAMBlock", Refusal((w, _) => w.Write(MigrationRecordType.Pages, Pages(0, 1023, 2, 8192))), StringComparison.Ordinal);
        Assert.Contains("lie outside RAMBlock", Refusal((w, _) => w.Write(MigrationRecordType.Pages, Pages(0, ulong.MaxValue, 1, 4096))), StringComparison.Ordinal);
        Assert.Contains("need 8192 bytes of contents, the record has 4096", Refusal((w, _) => w.Write(MigrationRecordType.Pages, Pages(0, 0, 2, 4096))), StringComparison.Ordinal);
        Assert.Contains("lie outside RAMBlock", Refusal((w, _) => w.Write(MigrationRecordType.Pages, Pages(0, 0, 0, 0))), StringComparison.Ordinal);
        Assert.Contains("lie outside RAMBlock", Refusal((w, _) => w.Write(MigrationRecordType.ZeroPages, Zeros(0, 5, ulong.MaxValue))), StringComparison.Ordinal);
        Assert.Contains("ends inside its first page", Refusal((w, _) => w.Write(MigrationRecordType.ZeroPages, new byte[6])), StringComparison.Ordinal);
    }

    [Fact]
    public void RecordsOutOfPlaceOrTwiceAreRefused()
    {
        Assert.Contains("a second header", Refusal((w, h) => w.Write(MigrationRecordType.Header, h)), StringComparison.Ordinal);
        Assert.Contains("does not belong in a migration stream", Refusal((w, _) => w.Write(MigrationRecordType.Running, new byte[8])), StringComparison.Ordinal);
        Assert.Contains("has a payload", Refusal((w, _) => w.Write(MigrationRecordType.End, new byte[1])), StringComparison.Ordinal);
        Assert.Contains("without the state of vCPU 0", Refusal((w, _) => w.Write(MigrationRecordType.End, [])), StringComparison.Ordinal);
        var vcpu = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(vcpu, 0);
        Assert.Contains("vCPU 0 appears twice", Refusal((w, _) =>
        {
            w.Write(MigrationRecordType.Vcpu, vcpu);
            w.Write(MigrationRecordType.Vcpu, vcpu);
        }), StringComparison.Ordinal);
        BinaryPrimitives.WriteUInt32LittleEndian(vcpu, 7);
        Assert.Contains("vCPU 7, but the header lists 1", Refusal((w, _) => w.Write(MigrationRecordType.Vcpu, vcpu)), StringComparison.Ordinal);
        Assert.Contains("comes after the machine state", Refusal((w, _) =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(vcpu, 0);
            w.Write(MigrationRecordType.Vcpu, vcpu);
            w.Write(MigrationRecordType.Pages, Pages(0, 0, 1, 4096));
        }), StringComparison.Ordinal);
        Assert.Contains("is not in the header's device list", Refusal((w, _) =>
        {
            var b = new MemoryStream();
            b.Write([7, 0]);
            b.Write("nothing"u8);
            b.Write(new byte[8]);
            w.Write(MigrationRecordType.Device, b.ToArray());
        }), StringComparison.Ordinal);
        // A frame whose length field is absurd: refused before anything is allocated.
        Assert.Contains("claims 4294967295 bytes", RefuseRaw([2, 0xff, 0xff, 0xff, 0xff]), StringComparison.Ordinal);
    }

    [Fact]
    public void AHeaderListingABlockOrDeviceTwiceIsRefusedNamingIt()
    {
        (Machine m, _) = Build(ram: 4UL << 20);
        using var _1 = m;
        MigrationHeader local = MigrationHeader.Describe(m, new FakeVcpus(1));
        MigrationHeader twice = local with { Blocks = [local.Blocks[0], .. local.Blocks], Devices = [local.Devices[0], .. local.Devices] };
        var payload = new PayloadBuilder();
        twice.WriteTo(payload);
        var s = new MemoryStream();
        var w = new MigrationRecordWriter(s);
        w.WriteStart();
        w.Write(MigrationRecordType.Header, payload.Span.ToArray());
        var v = new FakeVcpus(1);
        v.Pause();
        string message = Assert.ThrowsAny<MigrationException>(() => new MigrationDestination(m, v).Receive(new MemoryStream(s.ToArray()), null)).Message;
        Assert.Contains($"RAM blocks: '{local.Blocks[0].IdStr}' listed 2 times in the stream", message, StringComparison.Ordinal);
        Assert.Contains($"devices: '{local.Devices[0].Name}' listed 2 times in the stream", message, StringComparison.Ordinal);
        Assert.True(v.Paused);
    }

    private static string RefuseRaw(byte[] frame)
    {
        (Machine m, _) = Build(ram: 4UL << 20);
        using var _1 = m;
        var s = new MemoryStream();
        var w = new MigrationRecordWriter(s);
        w.WriteStart();
        w.Write(MigrationRecordType.Header, HeaderPayload(m, 1));
        s.Write(frame);
        return Assert.ThrowsAny<MigrationException>(() => new MigrationDestination(m, new FakeVcpus(1)).Receive(new MemoryStream(s.ToArray()), null)).Message;
    }

    [Fact]
    public void TheBandwidthCapSpacesTheRecordsOut()
    {
        var w = new MigrationRecordWriter(Stream.Null, maxBytesPerSecond: 1_000_000);
        var clock = Stopwatch.StartNew();
        var record = new byte[50_000];
        for (int i = 0; i < 8; i++)
        {
            w.Write(MigrationRecordType.Pages, record);
        }
        // 400 KB at 1 MB/s in 100 ms windows of 100 KB: at least three window boundaries.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"{clock.Elapsed.TotalMilliseconds} ms");
        Assert.Equal(8 * (50_000 + 9), w.BytesWritten);
    }
}
