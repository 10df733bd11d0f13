using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Memspace.Cli.Guest;
using Memspace.Machines;
using Memspace.Machines.Guests;
using Memspace.Migration;
using Memspace.Vcpus;

namespace Memspace.Cli.Commands;

/// <summary>
/// The migration and snapshot side of <c>memspace run</c>: <c>--migrate tcp:HOST:PORT --migrate-after S</c>
/// on a source, <c>--incoming tcp:HOST:PORT</c> on a destination, <c>--snapshot-on-exit DIR</c> and
/// <c>--restore DIR</c>. The guest is the built-in one; progress and outcome go to standard output.
/// </summary>
internal sealed class MigrationRun
{
    /// <summary>How long a connection, a write on the source or a read on the destination may stall before the migration fails.</summary>
    private static readonly TimeSpan StreamTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The writing guest's parameters (<c>--guest dirty</c>).</summary>
    /// <param name="RegionBytes">--dirty-size.</param>
    /// <param name="Rate">--dirty-rate, pages per second (0 unpaced).</param>
    /// <param name="RunFor">--run-for: how long it writes after starting here.</param>
    internal sealed record DirtyGuestSpec(ulong RegionBytes, double Rate, TimeSpan RunFor);

    private readonly Option<string?> _incoming = new("--incoming") { Description = "Receive a live migration: build the same machine, listen on tcp:127.0.0.1:PORT, load what arrives, then run the guest." };
    private readonly Option<string?> _migrate = new("--migrate") { Description = "Migrate the running guest to tcp:127.0.0.1:PORT (a destination started with --incoming) after --migrate-after seconds." };
    private readonly Option<double> _after = new("--migrate-after") { Description = "Seconds to run the guest before migrating.", DefaultValueFactory = _ => 1 };
    private readonly Option<string?> _bandwidth = new("--max-bandwidth") { Description = "Bandwidth cap for --migrate, bytes per second with K/M/G suffixes (default: none)." };
    private readonly Option<double> _downtime = new("--downtime-limit") { Description = "Downtime limit for --migrate in milliseconds (default 300, as QEMU).", DefaultValueFactory = _ => 300 };
    private readonly Option<int> _rounds = new("--max-rounds") { Description = "Most pre-copy rounds before the final pass whatever the estimate (default 30).", DefaultValueFactory = _ => 30 };
    private readonly Option<string?> _snapshot = new("--snapshot-on-exit") { Description = "When the guest stops (or --timeout passes), write a snapshot into this directory." };
    private readonly Option<string?> _restore = new("--restore") { Description = "Restore a snapshot directory (RAM mapped copy-on-write, lazily) and run its guest." };
    private readonly Option<bool> _restoreCopy = new("--restore-copy") { Description = "With --restore: copy the RAM files instead of mapping them." };
    private readonly Option<bool> _verify = new("--verify-snapshot") { Description = "With --restore: check every RAM chunk against the manifest first." };

    public void AddTo(Command command)
    {
        foreach (Option o in new Option[] { _incoming, _migrate, _after, _bandwidth, _downtime, _rounds, _snapshot, _restore, _restoreCopy, _verify })
        {
            command.Options.Add(o);
        }
    }

    /// <summary>Whether the command line asks for any of this.</summary>
    public bool Requested(ParseResult parse)
        => parse.GetValue(_incoming) is not null || parse.GetValue(_migrate) is not null || parse.GetValue(_snapshot) is not null || parse.GetValue(_restore) is not null;

    public int Run(ParseResult parse, GraphSource source, TextWriter o, DirtyGuestSpec? dirty)
    {
        TimeSpan timeout = source.Timeout(parse);
        double after = parse.GetValue(_after), downtime = parse.GetValue(_downtime);
        if (!double.IsFinite(after) || after < 0 || after > 86400)
        {
            throw CliError.Input($"bad --migrate-after {after}: seconds, 0 or more");
        }
        if (!double.IsFinite(downtime) || downtime < 0 || downtime > 3_600_000)
        {
            throw CliError.Input($"bad --downtime-limit {downtime}: milliseconds, 0 or more");
        }
        if (parse.GetValue(_rounds) is < 0 or > 100_000)
        {
            throw CliError.Input($"bad --max-rounds {parse.GetValue(_rounds)}: 0 to 100000");
        }
        int modes = (parse.GetValue(_incoming) is null ? 0 : 1) + (parse.GetValue(_migrate) is null ? 0 : 1) + (parse.GetValue(_restore) is null ? 0 : 1);
        if (modes > 1)
        {
            throw CliError.Input("--incoming, --migrate and --restore exclude each other");
        }
        // Addresses and the bandwidth are checked before any VM exists, so bad input is exit 2 with or without KVM.
        if (parse.GetValue(_incoming) is { } listenText)
        {
            Endpoint(listenText);
        }
        if (parse.GetValue(_migrate) is { } targetText)
        {
            Endpoint(targetText);
        }
        long bandwidth = Bandwidth(parse);
        if (parse.GetValue(_restore) is { } dir)
        {
            return Restore(parse, source, dir, o, timeout, dirty);
        }
        string name = source.MachineName(parse) ?? "q35";
        int firmwareSize = name == "microvm" ? 64 * 1024 : 256 * 1024;
        byte[] image = dirty is null ? DemoFirmware.Build(firmwareSize) : DirtyGuest.Build(dirty.RegionBytes, firmwareSize);
        using Machine machine = source.LoadMachine(parse, MachineAccelerator.Kvm, null, image, defaultMachine: "q35", kernelIrqchip: false, defaultAccel: "kvm");
        if (machine.Kvm?.RealVm is null)
        {
            throw CliError.Runtime($"migration and snapshots need a real KVM VM: {machine.KvmUnavailableReason ?? "this machine has none"}");
        }
        if (dirty is not null && machine.Options.RamSize < DirtyGuestLayout.RequiredRam(dirty.RegionBytes))
        {
            throw CliError.Input($"-m {RamSize.Format(machine.Options.RamSize)} is too small for --dirty-size {RamSize.Format(dirty.RegionBytes)}: at least {RamSize.Format(DirtyGuestLayout.RequiredRam(dirty.RegionBytes))}");
        }
        DirtyPacer? pacer = dirty is null ? null : DirtyPacer.Attach(machine, dirty.Rate);
        Vcpu vcpu = machine.CreateVcpu();
        using var owned = vcpu;
        Console(machine, o);
        if (parse.GetValue(_incoming) is { } incoming)
        {
            return Incoming(machine, vcpu, incoming, o, timeout, parse.GetValue(_snapshot), dirty, pacer);
        }
        var transfer = new VcpuTransfer([vcpu], machine.Kvm.RealVm, running: true);
        var clock = Stopwatch.StartNew();
        vcpu.Start();
        o.WriteLine($"run: {machine.Name}, {RamSize.Format(machine.Options.RamSize)}, guest started" + (dirty is null ? "" : $" (writing {RamSize.Format(dirty.RegionBytes)} " + (dirty.Rate == 0 ? "unpaced)" : $"at {dirty.Rate:0} pages/s)")));
        if (pacer is not null && !SpinWait.SpinUntil(() => pacer.FirstReport is not null || vcpu.StopState is not null, TimeSpan.FromSeconds(60)))
        {
            throw CliError.Runtime("the writing guest did not reach ring 3 within 60 s");
        }
        if (parse.GetValue(_migrate) is { } target)
        {
            (IPAddress address, int port) = Endpoint(target);
            vcpu.Join(TimeSpan.FromSeconds(parse.GetValue(_after)));
            if (pacer is not null)
            {
                o.WriteLine($"dirty: {pacer.Writes} page writes before migrating");
            }
            var options = new MigrationOptions
            {
                MaxBandwidth = bandwidth,
                DowntimeLimit = TimeSpan.FromMilliseconds(parse.GetValue(_downtime)),
                MaxRounds = parse.GetValue(_rounds),
                Progress = r => o.WriteLine(r.ToString()),
            };
            try
            {
                using var client = new TcpClient();
                client.NoDelay = true;
                using (var connect = new CancellationTokenSource(StreamTimeout))
                {
                    try
                    {
                        client.ConnectAsync(address, port, connect.Token).AsTask().GetAwaiter().GetResult();
                    }
                    catch (OperationCanceledException)
                    {
                        throw new IOException($"no destination answered on {address}:{port} within {StreamTimeout.TotalSeconds:0} s");
                    }
                }
                using NetworkStream stream = client.GetStream();
                // A destination that stops reading must not hang the source with its guest paused: the write fails and the guest resumes.
                stream.WriteTimeout = (int)StreamTimeout.TotalMilliseconds;
                var buffered = new BufferedStream(stream, 1 << 20);
                MigrationResult result = new MigrationSource(machine, transfer, options).Migrate(buffered, stream);
                vcpu.Stop();
                vcpu.Join(TimeSpan.FromSeconds(10));
                o.WriteLine(result.ToString());
                o.WriteLine($"migrate: source stopped; the guest runs on the destination (RAM {machine.Options.RamSize} bytes, sent {result.BytesSent} bytes)");
                return 0;
            }
            catch (Exception e) when (e is MigrationException or SocketException or IOException)
            {
                o.WriteLine($"migrate: {e.Message}");
                o.WriteLine("migrate: the guest keeps running here");
                VcpuStop? stop = vcpu.Join(timeout - clock.Elapsed > TimeSpan.Zero ? timeout - clock.Elapsed : TimeSpan.Zero);
                if (stop is null)
                {
                    vcpu.Stop();
                    vcpu.Join(TimeSpan.FromSeconds(10));
                }
                throw CliError.Runtime($"migration failed: {e.Message}");
            }
        }
        return WaitAndSnapshot(machine, vcpu, transfer, o, timeout - clock.Elapsed, parse.GetValue(_snapshot), dirty, pacer);
    }

    /// <summary>
    /// Lets the guest run: the demo guest until it halts or <paramref name="timeout"/>; the writing guest
    /// for --run-for, then it is paused (for a snapshot) or stopped and verified.
    /// </summary>
    private static int WaitAndSnapshot(Machine machine, Vcpu vcpu, IVcpuTransfer transfer, TextWriter o, TimeSpan timeout, string? snapshot, DirtyGuestSpec? dirty = null, DirtyPacer? pacer = null)
    {
        if (dirty is not null && pacer is not null)
        {
            ulong before = pacer.Writes;
            var ran = Stopwatch.StartNew();
            vcpu.Join(dirty.RunFor);
            o.WriteLine($"dirty: {pacer.Writes - before} page writes in {ran.Elapsed.TotalSeconds:F1} s here ({pacer.Writes} in all)");
            if (snapshot is not null)
            {
                transfer.Pause();
                DirtyVerification paused = DirtyVerifier.Verify(machine.Memory, dirty.RegionBytes / DirtyGuestLayout.PageSize, paused: true);
                o.WriteLine(paused.ToString());
                try
                {
                    o.WriteLine(Snapshot.Save(machine, transfer, snapshot).ToString());
                }
                catch (Exception e) when (e is MigrationException or IOException or UnauthorizedAccessException)
                {
                    throw CliError.Runtime($"cannot write the snapshot: {e.Message}");
                }
                vcpu.Stop();
                vcpu.Join(TimeSpan.FromSeconds(10));
                return paused.Ok ? 0 : throw CliError.Runtime($"verification failed: {paused.Problem}");
            }
            pacer.RequestStop();
            bool acknowledged = SpinWait.SpinUntil(() => pacer.Stopped || pacer.BadPage is not null || vcpu.StopState is not null, TimeSpan.FromSeconds(10));
            vcpu.Stop();
            vcpu.Join(TimeSpan.FromSeconds(10));
            DirtyVerification v = DirtyVerifier.Verify(machine.Memory, dirty.RegionBytes / DirtyGuestLayout.PageSize, paused: !acknowledged);
            o.WriteLine(v.ToString());
            return v.Ok ? 0 : throw CliError.Runtime($"verification failed: {v.Problem}");
        }
        VcpuStop? stop = vcpu.Join(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero);
        if (stop is null)
        {
            transfer.Pause();
            o.WriteLine($"guest: paused after --timeout");
        }
        else
        {
            o.WriteLine($"guest: {stop.Reason}: {stop.Detail}");
        }
        if (snapshot is not null)
        {
            try
            {
                o.WriteLine(Snapshot.Save(machine, transfer, snapshot).ToString());
            }
            catch (Exception e) when (e is MigrationException or IOException or UnauthorizedAccessException)
            {
                throw CliError.Runtime($"cannot write the snapshot: {e.Message}");
            }
        }
        vcpu.Stop();
        vcpu.Join(TimeSpan.FromSeconds(10));
        return 0;
    }

    private static int Incoming(Machine machine, Vcpu vcpu, string incoming, TextWriter o, TimeSpan timeout, string? snapshot, DirtyGuestSpec? dirty, DirtyPacer? pacer)
    {
        (IPAddress address, int port) = Endpoint(incoming);
        var transfer = new VcpuTransfer([vcpu], machine.Kvm!.RealVm, running: false);
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw CliError.Runtime($"cannot listen on {incoming}: {e.Message}");
        }
        o.WriteLine($"incoming: {machine.Name}, {RamSize.Format(machine.Options.RamSize)}, listening on {address}:{port}");
        o.Flush();
        Task<TcpClient> accept = listener.AcceptTcpClientAsync();
        if (!accept.Wait(timeout))
        {
            listener.Stop();
            throw CliError.Runtime($"no migration arrived on {incoming} within --timeout ({timeout.TotalSeconds:0} s)");
        }
        using (TcpClient client = accept.Result)
        {
            listener.Stop();
            client.NoDelay = true;
            using NetworkStream stream = client.GetStream();
            // A source that stops sending must not hang the destination: its guest never started.
            stream.ReadTimeout = (int)StreamTimeout.TotalMilliseconds;
            var destination = new MigrationDestination(machine, transfer);
            var started = Stopwatch.StartNew();
            try
            {
                destination.Receive(new BufferedStream(stream, 1 << 20), stream);
            }
            catch (MigrationException e)
            {
                throw CliError.Runtime($"incoming migration refused: {e.Message}");
            }
            if (destination.ConfirmationFailure is { } lost)
            {
                o.WriteLine($"incoming: WARNING: the guest runs here but the source could not be told ({lost}); it resumes its own copy");
            }
            o.WriteLine($"incoming: guest running after {destination.Rounds} rounds, {started.Elapsed.TotalMilliseconds:F0} ms after the source connected (last steps: "
                        + string.Join(", ", destination.FinalSteps.Select(s => $"{s.Step} {s.Time.TotalMilliseconds:F1} ms")) + ")");
        }
        return WaitAndSnapshot(machine, vcpu, transfer, o, timeout, snapshot, dirty, pacer);
    }

    private int Restore(ParseResult parse, GraphSource source, string dir, TextWriter o, TimeSpan timeout, DirtyGuestSpec? dirty)
    {
        Vcpu? vcpu = null;
        DirtyPacer? pacer = null;
        SnapshotRestoreResult result;
        try
        {
            result = Snapshot.Restore(dir, new SnapshotRestoreOptions
            {
                BaseOptions = new MachineOptions { Accelerator = MachineAccelerator.Kvm, KvmDevicePath = source.KvmDevice(parse) },
                Copy = parse.GetValue(_restoreCopy),
                Verify = parse.GetValue(_verify),
            }, m =>
            {
                if (dirty is not null)
                {
                    pacer = DirtyPacer.Attach(m, dirty.Rate);
                }
                vcpu = m.CreateVcpu();
                Console(m, o);
                return new VcpuTransfer([vcpu], m.Kvm!.RealVm, running: false);
            });
        }
        catch (MigrationException e)
        {
            vcpu?.Dispose();
            throw CliError.Input($"cannot restore {dir}: {e.Message}");
        }
        catch (Kvm.KvmUnavailableException e)
        {
            throw CliError.Runtime($"cannot restore {dir}: {e.Message}");
        }
        using Machine machine = result.Machine;
        using Vcpu owned = vcpu!;
        o.WriteLine(result.ToString());
        return WaitAndSnapshot(machine, owned, result.Vcpus, o, timeout, parse.GetValue(_snapshot), dirty, pacer);
    }

    private static void Console(Machine machine, TextWriter o)
    {
        if (machine is not X86Machine { Serial: { } serial })
        {
            return;
        }
        var line = new StringBuilder();
        serial.Transmitted += b =>
        {
            lock (line)
            {
                if (b == '\n')
                {
                    lock (o)
                    {
                        o.WriteLine("guest| " + line.ToString().TrimEnd('\r'));
                    }
                    line.Clear();
                }
                else
                {
                    line.Append((char)b);
                }
            }
        };
    }

    /// <summary>--max-bandwidth in bytes per second (0: no cap); K, M, G suffixes as for -m, a bare number is bytes.</summary>
    private long Bandwidth(ParseResult parse)
    {
        if (parse.GetValue(_bandwidth) is not { } bw)
        {
            return 0;
        }
        // RamSize reads a bare number as MiB; a bandwidth with no suffix is bytes per second.
        if (bw.Length is > 0 and <= 18 && bw.All(char.IsAsciiDigit))
        {
            long plain = long.Parse(bw, CultureInfo.InvariantCulture);
            return plain > 0 ? plain : throw CliError.Input($"bad --max-bandwidth '{bw}': bytes per second, more than 0");
        }
        if (!RamSize.TryParse(bw.EndsWith('B') ? bw[..^1] : bw, out ulong b, out _) || b == 0 || b > long.MaxValue)
        {
            throw CliError.Input($"bad --max-bandwidth '{bw}': bytes per second, e.g. 100M");
        }
        return (long)b;
    }

    private static (IPAddress Address, int Port) Endpoint(string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length != 3 || parts[0] != "tcp" || !IPAddress.TryParse(parts[1], out IPAddress? address)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw CliError.Input($"bad address '{text}': tcp:IP:PORT expected, e.g. tcp:127.0.0.1:4444");
        }
        return (address, port);
    }
}
