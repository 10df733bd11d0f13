using System.Diagnostics;
using Memspace.Machines;
using Memspace.Ram;

namespace Memspace.Migration;

/// <summary>
/// The sending side of a live migration (QEMU's pre-copy <c>ram_save_*</c> and <c>migration_thread</c>):
/// global dirty logging on (the MIGRATION client, so KVM slots get <c>KVM_MEM_LOG_DIRTY_PAGES</c>), every
/// page once, then rounds of the pages dirtied since the last (the dirty logs synced into the RAMList
/// bitmap, snapshot-and-clear) until what is left fits the downtime limit at the measured bandwidth or
/// the round cap is reached; then the guest is paused, the rest and the clock, vCPU and device state
/// are sent, and the source waits for the destination to say its guest runs. Any failure before that
/// confirmation stops dirty logging and resumes the guest: the source runs on as before.
/// </summary>
public sealed class MigrationSource
{
    private readonly Machine _machine;
    private readonly IVcpuTransfer _vcpus;
    private readonly MigrationOptions _options;

    /// <summary>Prepares to migrate <paramref name="machine"/>.</summary>
    /// <param name="machine">The running machine.</param>
    /// <param name="vcpus">Its vCPUs (running).</param>
    /// <param name="options">Limits and progress; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MigrationOptions.ReplyTimeout"/> is under a millisecond (a socket cannot wait that long).</exception>
    public MigrationSource(Machine machine, IVcpuTransfer vcpus, MigrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(vcpus);
        _machine = machine;
        _vcpus = vcpus;
        _options = options ?? new MigrationOptions();
        // Checked here: found only when setting the socket's read timeout, it escaped with the guest paused.
        if (_options.ReplyTimeout < TimeSpan.FromMilliseconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.ReplyTimeout, "ReplyTimeout must be at least 1 ms");
        }
    }

    /// <summary>
    /// Migrates over <paramref name="output"/> (records to the destination) and <paramref name="input"/>
    /// (its reply; the same stream for a socket). On success the guest stays paused here and the caller
    /// stops it: it now runs on the destination.
    /// </summary>
    /// <param name="output">Where the stream goes.</param>
    /// <param name="input">Where the destination's reply comes from.</param>
    /// <exception cref="MigrationException">The machine cannot be migrated (nothing was sent).</exception>
    /// <exception cref="MigrationFailedException">The migration did not complete; the source runs on.</exception>
    public MigrationResult Migrate(Stream output, Stream input)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(input);
        MigrationHeader.CheckSaveable(_machine);
        MigrationHeader header = MigrationHeader.Describe(_machine, _vcpus);
        IReadOnlyList<RamBlock> blocks = MigrationHeader.MigratableBlocks(_machine);
        ulong pageSize = header.PageSize;
        ulong ramBytes = blocks.Aggregate(0UL, (s, b) => s + b.UsedLength);
        var writer = new MigrationRecordWriter(output, _options.MaxBandwidth);
        var pages = new RamPageSender(writer, pageSize);
        var rounds = new List<MigrationRound>();
        DirtyMemory dirty = _machine.System.RamList.Dirty;
        long start = Stopwatch.GetTimestamp();
        string phase = "header";
        bool logging = false, paused = false;
        try
        {
            writer.WriteStart();
            var b = new PayloadBuilder();
            header.WriteTo(b);
            writer.Write(MigrationRecordType.Header, b.Span);

            phase = "RAM round 0";
            _machine.System.GlobalDirtyLogStart(GlobalDirtyFlags.Migration);
            logging = true;
            // What was dirty before logging started is sent by the full pass: start the bitmap clean.
            _machine.System.GlobalDirtyLogSync();
            foreach (RamBlock block in blocks)
            {
                dirty.SnapshotAndClear(block.Offset, block.UsedLength, DirtyMemoryClient.Migration);
            }
            long sendTicks = 0;
            long sentBytes = 0;
            int round = 0;
            while (true)
            {
                long t0 = Stopwatch.GetTimestamp();
                long bytes0 = writer.BytesWritten;
                long p0 = pages.Pages, z0 = pages.ZeroPages;
                for (int i = 0; i < blocks.Count; i++)
                {
                    if (round == 0)
                    {
                        pages.Send((uint)i, blocks[i], 0, blocks[i].UsedLength / pageSize);
                    }
                    else
                    {
                        pages.SendDirty((uint)i, blocks[i], dirty.SnapshotAndClear(blocks[i].Offset, blocks[i].UsedLength, DirtyMemoryClient.Migration));
                    }
                }
                pages.FlushZeros();
                b.Reset();
                b.U32((uint)round);
                writer.Write(MigrationRecordType.RoundEnd, b.Span);
                writer.Flush();
                long t1 = Stopwatch.GetTimestamp();
                sendTicks += t1 - t0;
                sentBytes += writer.BytesWritten - bytes0;
                double sendSeconds = Math.Max(Stopwatch.GetElapsedTime(0, sendTicks).TotalSeconds, 1e-6);
                double bandwidth = sentBytes / sendSeconds;
                // Dirty pages are rarely zero, so they cost their bytes: estimate the final pass from the
                // bytes sent per second (the last round's own rate once it sent enough, else the rate so
                // far). Round 0's pages per second would not do: its zero pages are only scanned, which
                // made 64 MiB of dirty pages look like 13 ms when they take 400.
                long roundBytes = writer.BytesWritten - bytes0;
                double bytesPerSecond = round > 0 && roundBytes >= 64L * (long)pageSize
                    ? roundBytes / Math.Max(Stopwatch.GetElapsedTime(t0, t1).TotalSeconds, 1e-6)
                    : bandwidth;

                _machine.System.GlobalDirtyLogSync();
                long dirtyPages = 0;
                foreach (RamBlock block in blocks)
                {
                    dirtyPages += (long)dirty[DirtyMemoryClient.Migration].Count(block.Offset / pageSize, block.UsedLength / pageSize);
                }
                TimeSpan took = Stopwatch.GetElapsedTime(t0);
                double dirtyRate = dirtyPages * (double)pageSize / Math.Max(took.TotalSeconds, 1e-6);
                double seconds = dirtyPages * (double)(pageSize + 32) / Math.Max(bytesPerSecond, 1);
                if (_options.MaxBandwidth > 0)
                {
                    seconds = Math.Max(seconds, dirtyPages * (double)(pageSize + 32) / _options.MaxBandwidth);
                }
                var expected = TimeSpan.FromSeconds(seconds);
                var r = new MigrationRound(round, pages.Pages - p0, pages.ZeroPages - z0, writer.BytesWritten - bytes0, took, dirtyPages, dirtyRate, bandwidth, expected, false);
                rounds.Add(r);
                _options.Progress?.Invoke(r);
                if (expected <= _options.DowntimeLimit || round >= _options.MaxRounds)
                {
                    break;
                }
                round++;
                phase = $"RAM round {round}";
            }

            phase = "final pass";
            // Work that does not need the guest paused is done before pausing: the map digest stays
            // valid if no commit happens in between (slots change only at commits).
            long commits = _machine.System.CommitCount;
            MapDigest digest = MapDigest.Of(_machine);
            long pauseStart = Stopwatch.GetTimestamp();
            paused = true;
            var steps = new List<(string, TimeSpan)>();
            long mark = pauseStart;
            void Step(string name)
            {
                long now = Stopwatch.GetTimestamp();
                steps.Add((name, Stopwatch.GetElapsedTime(mark, now)));
                mark = now;
            }
            _vcpus.Pause();
            Step("pause");
            _machine.System.GlobalDirtyLogSync();
            Step("sync");
            long bytesF = writer.BytesWritten;
            long pF = pages.Pages, zF = pages.ZeroPages;
            for (int i = 0; i < blocks.Count; i++)
            {
                pages.SendDirty((uint)i, blocks[i], dirty.SnapshotAndClear(blocks[i].Offset, blocks[i].UsedLength, DirtyMemoryClient.Migration));
            }
            pages.FlushZeros();
            Step("pages");
            if (_machine.System.CommitCount != commits)
            {
                digest = MapDigest.Of(_machine);
            }
            MachineStateWriter.Write(writer, _machine, _vcpus, digest);
            writer.Flush();
            Step("state");
            TimeSpan finalTook = Stopwatch.GetElapsedTime(pauseStart);
            var final = new MigrationRound(round + 1, pages.Pages - pF, pages.ZeroPages - zF, writer.BytesWritten - bytesF, finalTook, 0, 0,
                rounds[^1].Bandwidth, TimeSpan.Zero, true);
            rounds.Add(final);
            _options.Progress?.Invoke(final);

            phase = "waiting for the destination";
            long runningAt = WaitForRunning(input);
            long confirmed = Stopwatch.GetTimestamp();
            Step("destination");
            TimeSpan downtime = runningAt > pauseStart ? Stopwatch.GetElapsedTime(pauseStart, runningAt) : Stopwatch.GetElapsedTime(pauseStart, confirmed);
            _machine.System.GlobalDirtyLogStop(GlobalDirtyFlags.Migration);
            logging = false;
            return new MigrationResult(rounds, writer.BytesWritten, ramBytes, Stopwatch.GetElapsedTime(start, confirmed), downtime, Stopwatch.GetElapsedTime(pauseStart, confirmed))
            {
                PauseSteps = steps,
            };
        }
        catch (Exception e) when (e is IOException or MigrationException or ObjectDisposedException or TimeoutException or OperationCanceledException)
        {
            RunOn();
            string message = e.Message;
            if (e is IOException && phase != "waiting for the destination" && RefusalReason(input) is { } reason)
            {
                // A destination that refuses says why before it closes: that is the reason, not the broken pipe.
                message = "the destination refused the stream: " + reason;
            }
            throw new MigrationFailedException(phase, message, e);
        }
        catch
        {
            // Anything else (a throwing progress callback, a bug) is no stream failure, but the guest still runs on here.
            RunOn();
            throw;
        }

        void RunOn()
        {
            if (logging)
            {
                _machine.System.GlobalDirtyLogStop(GlobalDirtyFlags.Migration);
                logging = false;
            }
            if (paused)
            {
                _vcpus.Resume();
                paused = false;
            }
        }
    }

    /// <summary>The reason in a Refused reply already waiting on <paramref name="input"/>, or null.</summary>
    private static string? RefusalReason(Stream input)
    {
        try
        {
            if (input.CanTimeout)
            {
                input.ReadTimeout = 1000;
            }
            MigrationRecord reply = new MigrationRecordReader(input, "destination's reply").Read();
            return reply.Type == MigrationRecordType.Refused ? new PayloadReader(reply.Payload, "destination's reply").Str("reason") : null;
        }
        catch (Exception e) when (e is IOException or MigrationException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Reads the destination's reply: its guest's start time, or a refusal.</summary>
    private long WaitForRunning(Stream input)
    {
        if (input.CanTimeout)
        {
            input.ReadTimeout = (int)Math.Min(int.MaxValue, _options.ReplyTimeout.TotalMilliseconds);
        }
        var reader = new MigrationRecordReader(input, "destination's reply");
        MigrationRecord reply = reader.Read();
        var r = new PayloadReader(reply.Payload, "destination's reply");
        switch (reply.Type)
        {
            case MigrationRecordType.Running:
                long at = r.I64("start time");
                return at;
            case MigrationRecordType.Refused:
                throw new MigrationException("the destination refused the stream: " + r.Str("reason"));
            default:
                throw new MigrationException($"the destination replied with a {reply.Type} record");
        }
    }
}
