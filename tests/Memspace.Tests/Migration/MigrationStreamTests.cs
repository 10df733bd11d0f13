using Memspace.Machines;
using Memspace.Migration;
using Memspace.Ram;
using static Memspace.Tests.Migration.MigrationFixtures;

namespace Memspace.Tests.Migration;

/// <summary>The stream between two machines on simulated KVM VMs: RAM with dirty rounds and zero runs, state, and every way a stream can be wrong.</summary>
public sealed class MigrationStreamTests
{
    [Fact]
    public void Crc32CHasTheCastagnoliCheckValueOnBothPaths()
    {
        byte[] data = "123456789"u8.ToArray();
        Assert.Equal(0xE3069283u, Crc32C.Compute(data));
        Assert.Equal(0xE3069283u, Crc32C.ComputeWithTable(data));
        var big = new byte[1000];
        new Random(1).NextBytes(big);
        Assert.Equal(Crc32C.ComputeWithTable(big), Crc32C.Compute(big));
        Assert.Equal(Crc32C.Compute(big), Crc32C.Append(Crc32C.Compute(big.AsSpan(0, 333)), big.AsSpan(333)));
    }

    /// <summary>Migrates over loopback TCP with the destination on another thread; <paramref name="dirtyRounds"/> rounds each write new pages.</summary>
    private static (MigrationResult Result, MigrationDestination Destination) Migrate(Machine source, FakeVcpus sv, Machine destination, FakeVcpus dv, int dirtyRounds, List<MigrationRound>? progress = null)
    {
        (var s, var d) = Connect();
        using var _s = s;
        using var _d = d;
        var dest = new MigrationDestination(destination, dv);
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                dest.Receive(d, d);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        int seed = 100;
        var options = new MigrationOptions
        {
            DowntimeLimit = dirtyRounds > 0 ? TimeSpan.FromTicks(-1) : TimeSpan.FromMilliseconds(300),
            MaxRounds = Math.Max(dirtyRounds, 1),
            Progress = r =>
            {
                progress?.Add(r);
                if (!r.Final && r.Round < dirtyRounds)
                {
                    Scribble(source, seed++, 20);
                }
            },
        };
        MigrationResult result;
        try
        {
            result = new MigrationSource(source, sv, options).Migrate(s, s);
        }
        finally
        {
            thread.Join();
        }
        Assert.Null(failure);
        return (result, dest);
    }

    [Fact]
    public void AReplyTimeoutUnderAMillisecondIsRefusedBeforeAnythingPauses()
    {
        (Machine m, _) = Build(ram: 2UL << 20);
        using var _1 = m;
        var v = new FakeVcpus(1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new MigrationSource(m, v, new MigrationOptions { ReplyTimeout = TimeSpan.Zero }));
        Assert.Contains("ReplyTimeout must be at least 1 ms", e.Message, StringComparison.Ordinal);
        Assert.False(v.Paused);
    }

    [Fact]
    public void AThrowingProgressCallbackLeavesTheSourceRunning()
    {
        (Machine m, _) = Build(ram: 2UL << 20);
        using var _1 = m;
        var v = new FakeVcpus(1);
        int calls = 0;
        var options = new MigrationOptions { Progress = r => { if (r.Final) { calls++; throw new InvalidOperationException("observer failed"); } } };
        var e = Assert.Throws<InvalidOperationException>(() => new MigrationSource(m, v, options).Migrate(new MemoryStream(), RunningReply()));
        Assert.Equal("observer failed", e.Message);
        Assert.Equal(1, calls);
        Assert.False(v.Paused);
    }

    [Fact]
    public void RamDeviceAndVcpuStateArriveThroughDirtyRounds()
    {
        (Machine src, WindowDevice sd) = Build();
        (Machine dst, WindowDevice dd) = Build();
        using var _1 = src;
        using var _2 = dst;
        Scribble(src, 1);
        sd.Counter = 0x1234;
        sd.Enable(true);
        var sv = new FakeVcpus(2, "src");
        var dv = new FakeVcpus(2, "dst");
        dv.Pause();
        var progress = new List<MigrationRound>();
        (MigrationResult result, MigrationDestination dest) = Migrate(src, sv, dst, dv, dirtyRounds: 3, progress);

        AssertSameRam(src, dst);
        Assert.Equal(0x1234u, dd.Counter);
        Assert.True(dd.Enabled);
        Assert.Equal(sv.States, dv.States);
        Assert.Equal(sv.Clock, dv.Clock);
        Assert.False(dv.Paused);
        Assert.True(sv.Paused);
        Assert.Equal(GlobalDirtyFlags.None, src.System.GlobalDirtyTracking);
        // Round 0, three rounds that found the pages written after the previous one, one that found none, then the final pass.
        Assert.Equal(3, result.PrecopyRounds);
        Assert.Equal(4, dest.Rounds);
        Assert.True(progress[1].PagesSent >= 15 && progress[1].PagesSent <= 20, $"round 1 sent {progress[1].PagesSent} pages");
        Assert.True(progress[^1].Final);
        Assert.Equal(progress, result.Rounds);
    }

    [Fact]
    public void ZeroPagesTravelAsMarkersAndClearStalePagesOnTheDestination()
    {
        (Machine src, _) = Build(device: false);
        (Machine dst, _) = Build(device: false);
        using var _1 = src;
        using var _2 = dst;
        Scribble(src, 2, 10);
        // The destination holds garbage where the source has zeros: the markers must clear it.
        Scribble(dst, 3, 50);
        (MigrationResult result, _) = Migrate(src, new FakeVcpus(1), dst, new FakeVcpus(1), dirtyRounds: 0);
        AssertSameRam(src, dst);
        Assert.True(result.BytesSent < (long)MigrationFixtures.Ram / 8, $"{result.BytesSent} bytes sent for {MigrationFixtures.Ram} bytes of mostly zero RAM");
        Assert.True(result.Rounds[0].ZeroPages > (long)(MigrationFixtures.Ram / 4096) * 3 / 4);
    }

    /// <summary>A complete stream of a small machine, with where each record starts.</summary>
    private static (byte[] Stream, IReadOnlyList<long> Records) Capture(Machine m, FakeVcpus v)
    {
        var buffer = new MemoryStream();
        var src = new MigrationSource(m, v);
        src.Migrate(buffer, RunningReply());
        // The source wrote records into a buffer; recover the boundaries by reading it back.
        byte[] bytes = buffer.ToArray();
        var offsets = new List<long>();
        var reader = new MigrationRecordReader(new MemoryStream(bytes));
        reader.ReadStart();
        while (true)
        {
            MigrationRecord r = reader.Read();
            offsets.Add(r.Offset);
            if (r.Type == MigrationRecordType.End)
            {
                break;
            }
        }
        return (bytes, offsets);
    }

    private static MigrationException Refused(byte[] stream, string machine = "q35", ulong ram = MigrationFixtures.Ram, int vcpus = 1)
    {
        (Machine dst, WindowDevice _) = Build(machine, ram);
        using var owned = dst;
        var dv = new FakeVcpus(vcpus);
        dv.Pause();
        var reply = new MemoryStream();
        var e = Assert.ThrowsAny<MigrationException>(() => new MigrationDestination(dst, dv).Receive(new MemoryStream(stream), reply));
        Assert.True(dv.Paused, "a refused stream must not start the guest");
        // The source hears the reason.
        reply.Position = 0;
        MigrationRecord r = new MigrationRecordReader(reply).Read();
        Assert.Equal(MigrationRecordType.Refused, r.Type);
        return e;
    }

    [Fact]
    public void TruncationAtEveryRecordBoundaryAndInsideEveryRecordIsRefused()
    {
        (Machine src, _) = Build(ram: 4UL << 20);
        using var _1 = src;
        Scribble(src, 4, 8);
        (byte[] stream, IReadOnlyList<long> records) = Capture(src, new FakeVcpus(1));
        var cuts = new SortedSet<long> { 0, 4, 8, 10 };
        foreach (long o in records)
        {
            cuts.Add(o);
            cuts.Add(o + 1);
            cuts.Add(o + 7);
        }
        cuts.Add(stream.Length - 1);
        (Machine dst, _) = Build(ram: 4UL << 20);
        using var _2 = dst;
        foreach (long cut in cuts.Where(c => c < stream.Length))
        {
            var dv = new FakeVcpus(1);
            dv.Pause();
            var e = Assert.ThrowsAny<MigrationException>(() => new MigrationDestination(dst, dv).Receive(new MemoryStream(stream, 0, (int)cut), null));
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
            Assert.True(dv.Paused);
        }
    }

    [Fact]
    public void FlippedBytesAnywhereAreRefusedNamingTheRecord()
    {
        (Machine src, _) = Build(ram: 4UL << 20);
        using var _1 = src;
        Scribble(src, 5, 8);
        (byte[] stream, IReadOnlyList<long> records) = Capture(src, new FakeVcpus(1));
        var positions = new SortedSet<long> { 0, 7, 8, 11 };
        foreach (long o in records)
        {
            positions.Add(o);
            positions.Add(o + 2);
            positions.Add(o + 6);
        }
        positions.Add(stream.Length - 1);
        positions.Add(stream.Length / 2);
        (Machine dst, _) = Build(ram: 4UL << 20);
        using var _2 = dst;
        foreach (long p in positions)
        {
            byte[] bad = (byte[])stream.Clone();
            bad[p] ^= 0x40;
            var dv = new FakeVcpus(1);
            dv.Pause();
            var e = Assert.ThrowsAny<MigrationException>(() => new MigrationDestination(dst, dv).Receive(new MemoryStream(bad), null));
            Assert.Matches("magic|version|corrupted|truncated|claims|unknown type", e.Message);
            Assert.True(dv.Paused);
        }
    }

    [Fact]
    public void AnotherVersionIsRefusedBeforeAnythingElse()
    {
        var s = new MemoryStream();
        new MigrationRecordWriter(s).WriteStart(version: 2);
        MigrationException e = Refused(s.ToArray());
        Assert.Contains("format version 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad magic", Refused("QEMU\0\0\0\u0003xxxx"u8.ToArray()).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADifferentMachineRamSizeDeviceListOrVcpuCountIsRefusedNamingTheDifference()
    {
        (Machine src, _) = Build(ram: 4UL << 20);
        using var _1 = src;
        (byte[] stream, _) = Capture(src, new FakeVcpus(1));
        Assert.Contains("machine type: stream 'q35', destination 'pc'", Refused(stream, "pc", 4UL << 20).Message, StringComparison.Ordinal);
        Assert.Contains("RAM size: stream 4", Refused(stream, "q35", 8UL << 20).Message, StringComparison.Ordinal);
        Assert.Contains("(4194304 bytes), destination 8", Refused(stream, "q35", 8UL << 20).Message, StringComparison.Ordinal);
        Assert.Contains("vCPU count: stream 1, destination 2", Refused(stream, "q35", 4UL << 20, vcpus: 2).Message, StringComparison.Ordinal);

        Machine other = Machine.Create("q35", new MachineOptions { RamSize = 4UL << 20 });
        using var _2 = other;
        other.RegisterDeviceState(new WindowDevice(other, "other-device"));
        var dv = new FakeVcpus(1);
        var e = Assert.ThrowsAny<MigrationException>(() => new MigrationDestination(other, dv).Receive(new MemoryStream(stream), null));
        Assert.Contains("'test-window@0xfd000000' only in the stream", e.Message, StringComparison.Ordinal);
        Assert.Contains("'other-device' only on the destination", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMachineWithStatelessDevicesIsRefusedNamingThem()
    {
        (Machine src, _) = Build(ram: 4UL << 20);
        using var _1 = src;
        src.RegisterStatelessDevice("mystery-device");
        var sv = new FakeVcpus(1);
        var e = Assert.Throws<MigrationException>(() => new MigrationSource(src, sv).Migrate(new MemoryStream(), RunningReply()));
        Assert.Contains("mystery-device", e.Message, StringComparison.Ordinal);
        Assert.False(sv.Paused);
        Assert.Equal(GlobalDirtyFlags.None, src.System.GlobalDirtyTracking);
    }

    [Fact]
    public void ADroppedConnectionAtAnyPhaseLeavesTheSourceRunningWithNothingLost()
    {
        (Machine src, WindowDevice sd) = Build(ram: 4UL << 20);
        using var _1 = src;
        Scribble(src, 6, 8);
        sd.Counter = 7;
        var sv = new FakeVcpus(1, "src");
        (byte[] stream, IReadOnlyList<long> records) = Capture(src, sv);
        sv.Resume();
        Dictionary<string, byte[]> before = Contents(src);
        var limits = new SortedSet<long> { 0, 5, 12 };
        foreach (long o in records)
        {
            limits.Add(o + 3);
        }
        var phases = new HashSet<string>();
        foreach (long limit in limits.Where(l => l < stream.Length))
        {
            var e = Assert.Throws<MigrationFailedException>(() => new MigrationSource(src, sv).Migrate(new DroppingStream(limit), RunningReply()));
            phases.Add(e.Phase.StartsWith("RAM", StringComparison.Ordinal) ? "RAM" : e.Phase);
            Assert.False(sv.Paused, $"the source stays paused after a drop at byte {limit}");
            Assert.Equal(GlobalDirtyFlags.None, src.System.GlobalDirtyTracking);
        }
        // The whole stream went out but no confirmation came back.
        var noReply = Assert.Throws<MigrationFailedException>(() => new MigrationSource(src, sv).Migrate(new MemoryStream(), new MemoryStream()));
        phases.Add(noReply.Phase);
        Assert.False(sv.Paused);
        Assert.Equal(["RAM", "final pass", "header", "waiting for the destination"], phases.Order());
        Assert.Equal(7u, sd.Counter);
        Dictionary<string, byte[]> after = Contents(src);
        foreach (string k in before.Keys)
        {
            Assert.True(before[k].AsSpan().SequenceEqual(after[k]), $"RAMBlock '{k}' changed");
        }
        // And the next attempt succeeds.
        (Machine dst, WindowDevice dd) = Build(ram: 4UL << 20);
        using var _2 = dst;
        var dv = new FakeVcpus(1);
        dv.Pause();
        Migrate(src, sv, dst, dv, dirtyRounds: 0);
        AssertSameRam(src, dst);
        Assert.Equal(7u, dd.Counter);
    }

    [Fact]
    public void ARefusingDestinationLeavesTheSourceRunningAndItHearsWhy()
    {
        (Machine src, _) = Build(ram: 4UL << 20);
        (Machine dst, _) = Build("pc", 4UL << 20);
        using var _1 = src;
        using var _2 = dst;
        (var s, var d) = Connect();
        using var _s = s;
        using var _d = d;
        var thread = new Thread(() =>
        {
            try
            {
                new MigrationDestination(dst, new FakeVcpus(1)).Receive(d, d);
            }
            catch (MigrationException)
            {
                d.Close();
            }
        });
        thread.Start();
        var sv = new FakeVcpus(1);
        var e = Assert.Throws<MigrationFailedException>(() => new MigrationSource(src, sv).Migrate(s, s));
        thread.Join();
        Assert.False(sv.Paused);
        Assert.Contains("source keeps running", e.Message, StringComparison.Ordinal);
        Assert.Contains("the destination refused the stream: the stream's machine differs from the destination's: machine type: stream 'q35', destination 'pc'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheMapDigestCatchesADestinationWhoseMapDiffersAfterLoading()
    {
        var a = new MapDigest("line one\nline two\n", "");
        var e = Assert.Throws<MigrationException>(() => a.CheckMatches(new MapDigest("line one\nline 2\n", "")));
        Assert.Contains("line 2: source \"line two\", destination \"line 2\"", e.Message, StringComparison.Ordinal);
        (Machine m, WindowDevice d) = Build(ram: 4UL << 20);
        using var _ = m;
        MapDigest before = MapDigest.Of(m);
        d.Enable(true);
        Assert.Throws<MigrationException>(() => before.CheckMatches(MapDigest.Of(m)));
    }

    [Fact]
    public void ADestinationThatCannotConfirmRunsOnAndSaysSo()
    {
        (Machine src, _) = Build(ram: 4UL << 20);
        using var _1 = src;
        (byte[] stream, _) = Capture(src, new FakeVcpus(1));
        (Machine dst, _) = Build(ram: 4UL << 20);
        using var _2 = dst;
        var dv = new FakeVcpus(1);
        dv.Pause();
        var destination = new MigrationDestination(dst, dv);
        destination.Receive(new MemoryStream(stream), new DroppingStream(0));
        Assert.False(dv.Paused);
        Assert.Contains("connection reset", destination.ConfirmationFailure, StringComparison.Ordinal);
        AssertSameRam(src, dst);
    }
}
