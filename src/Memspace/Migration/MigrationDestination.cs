using System.Diagnostics;
using Memspace.Machines;
using Memspace.Ram;

namespace Memspace.Migration;

/// <summary>
/// The receiving side of a live migration (QEMU's <c>-incoming</c>): a machine built like the
/// source's, its vCPUs created and not running. It checks the header against itself, writes pages
/// into its RAMBlocks, loads the clock, vCPU and device state at the end record, checks that its memory
/// map and KVM slots equal the source's, lets the guest run and tells the source so. Anything wrong
/// is refused with a message naming it (sent to the source too) and the guest is not started.
/// </summary>
public sealed class MigrationDestination
{
    private readonly Machine _machine;
    private readonly IVcpuTransfer _vcpus;
    private readonly List<(string Step, TimeSpan Time)> _steps = [];

    /// <summary>Prepares <paramref name="machine"/> to receive.</summary>
    /// <param name="machine">A freshly built machine of the source's type and options.</param>
    /// <param name="vcpus">Its vCPUs, created and not running.</param>
    public MigrationDestination(Machine machine, IVcpuTransfer vcpus)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(vcpus);
        _machine = machine;
        _vcpus = vcpus;
    }

    /// <summary>Number of pre-copy rounds the stream had (after <see cref="Receive"/>).</summary>
    public int Rounds { get; private set; }

    /// <summary>The last steps on the destination, after the end record: loading devices, vCPUs, clock, the map check, starting the guest.</summary>
    public IReadOnlyList<(string Step, TimeSpan Time)> FinalSteps { get; private set; } = [];

    /// <summary>When the guest was started (a <see cref="Stopwatch"/> timestamp), after <see cref="Receive"/>.</summary>
    public long StartedAt { get; private set; }

    /// <summary>Receives a stream from <paramref name="input"/> and replies on <paramref name="output"/> (null: no reply, as for a file).</summary>
    /// <param name="input">The stream.</param>
    /// <param name="output">Where the reply goes.</param>
    /// <exception cref="MigrationException">The stream was refused; the message names why. The guest did not start.</exception>
    public void Receive(Stream input, Stream? output)
    {
        ArgumentNullException.ThrowIfNull(input);
        // What the final pass will need, done before the source pauses its guest.
        _ = MapDigest.Of(_machine);
        try
        {
            ReceiveCore(input);
        }
        catch (Exception e) when (e is MigrationException or IOException)
        {
            if (output is not null)
            {
                try
                {
                    var b = new PayloadBuilder();
                    b.Str(e.Message.Length > 4000 ? e.Message[..4000] : e.Message);
                    var w = new MigrationRecordWriter(output);
                    w.Write(MigrationRecordType.Refused, b.Span);
                    w.Flush();
                }
                catch (Exception reply) when (reply is IOException or ObjectDisposedException)
                {
                    // The source is gone; it resumes by itself.
                }
            }
            throw e as MigrationException ?? new MigrationException($"the migration stream broke: {e.Message}", e);
        }
        long resume = Stopwatch.GetTimestamp();
        _vcpus.Resume();
        StartedAt = Stopwatch.GetTimestamp();
        _steps.Add(("start guest", Stopwatch.GetElapsedTime(resume, StartedAt)));
        FinalSteps = _steps;
        if (output is not null)
        {
            try
            {
                var b = new PayloadBuilder();
                b.I64(StartedAt);
                var w = new MigrationRecordWriter(output);
                w.Write(MigrationRecordType.Running, b.Span);
                w.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The guest runs here; the source did not hear so and resumes too (see docs/MIGRATION.md).
                ConfirmationFailure = e.Message;
            }
        }
    }

    /// <summary>
    /// Why the confirmation could not be sent after the guest started here, or null. Then the source
    /// resumed its guest as well: both run, and the caller decides which to keep.
    /// </summary>
    public string? ConfirmationFailure { get; private set; }

    private void ReceiveCore(Stream input)
    {
        var reader = new MigrationRecordReader(input);
        reader.ReadStart();
        MigrationRecord first = reader.Read();
        if (first.Type != MigrationRecordType.Header)
        {
            throw new MigrationException($"migration stream: record 0 is {first.Type}; a header must come first");
        }
        MigrationHeader header = MigrationHeader.ReadFrom(first.Payload);
        MigrationHeader.CheckSaveable(_machine);
        header.CheckMatches(MigrationHeader.Describe(_machine, _vcpus));
        IReadOnlyList<RamBlock> blocks = MigrationHeader.MigratableBlocks(_machine);
        var pages = new RamPageReceiver(blocks, header.PageSize);
        var state = new MachineStateLoader(_machine, _vcpus, header);
        bool stateStarted = false;
        while (true)
        {
            MigrationRecord record = reader.Read();
            switch (record.Type)
            {
                case MigrationRecordType.Pages:
                case MigrationRecordType.ZeroPages:
                    if (stateStarted)
                    {
                        throw new MigrationException($"migration stream: record {record.Index} ({record.Type}) comes after the machine state");
                    }
                    pages.Apply(record);
                    break;
                case MigrationRecordType.RoundEnd:
                    Rounds++;
                    break;
                case MigrationRecordType.End:
                    if (new PayloadReader(record.Payload, "end record").Remaining != 0)
                    {
                        throw new MigrationException($"migration stream: record {record.Index} (End) has a payload");
                    }
                    state.Apply();
                    _steps.AddRange(state.Steps);
                    return;
                case MigrationRecordType.Header:
                    throw new MigrationException($"migration stream: record {record.Index} is a second header");
                default:
                    if (!state.Accept(record))
                    {
                        throw new MigrationException($"migration stream: record {record.Index} ({record.Type}) does not belong in a migration stream");
                    }
                    stateStarted = true;
                    break;
            }
        }
    }
}
