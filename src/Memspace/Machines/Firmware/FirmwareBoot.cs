using System.Diagnostics;
using Memspace.Machines.Devices;
using Memspace.Vcpus;

namespace Memspace.Machines.Firmware;

/// <summary>
/// Runs a machine's firmware on its vCPU (whatever accelerator backs the <see cref="Vcpu"/>) until it
/// settles: the debug console prints <see cref="EndMarker"/>, the vCPU halts with nothing pending, the
/// guest asks for reset or power-off, the vCPU stops, or the timeout passes. Debug console lines are
/// passed on as they come.
/// </summary>
public static class FirmwareBoot
{
    /// <summary>What SeaBIOS prints when it has tried every boot device: the end of its run here.</summary>
    public const string EndMarker = "No bootable device";

    /// <summary>Runs <paramref name="vcpu"/> from its current state.</summary>
    /// <param name="machine">The board (with its platform devices and, for lines and the end marker, the debug console).</param>
    /// <param name="vcpu">The boot vCPU, in the reset state.</param>
    /// <param name="timeout">How long to let it run.</param>
    /// <param name="line">Receives every debug console line, on the vCPU thread; may be null.</param>
    public static FirmwareBootResult Run(X86Machine machine, Vcpu vcpu, TimeSpan timeout, Action<string>? line = null)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(vcpu);
        PcPlatform? p = machine.Platform;
        var lines = new List<string>();
        var settled = new TaskCompletionSource<FirmwareBootOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string l)
        {
            lock (lines)
            {
                lines.Add(l);
            }
            line?.Invoke(l);
            if (l.Contains(EndMarker, StringComparison.Ordinal))
            {
                settled.TrySetResult(FirmwareBootOutcome.ReachedEnd);
            }
        }
        void OnReset() => settled.TrySetResult(FirmwareBootOutcome.ResetRequested);
        void OnPowerOff() => settled.TrySetResult(FirmwareBootOutcome.PowerOff);
        AcpiPmRegisters? pm = machine switch
        {
            PcMachine pc => pc.Pm?.Pm,
            Q35Machine q35 => q35.Lpc?.Pm.Pm,
            _ => null,
        };
        ResetControl? rc = machine switch
        {
            PcMachine pc => pc.Piix3?.ResetControl,
            Q35Machine q35 => q35.Lpc?.ResetControl,
            _ => null,
        };
        if (p?.DebugConsole is { } dc)
        {
            dc.LineWritten += OnLine;
        }
        if (p is not null)
        {
            p.Port92.ResetRequested += OnReset;
            p.Keyboard.ResetRequested += OnReset;
        }
        if (rc is not null)
        {
            rc.ResetRequested += OnReset;
        }
        if (pm is not null)
        {
            pm.PowerOffRequested += OnPowerOff;
        }
        var clock = Stopwatch.StartNew();
        try
        {
            vcpu.Start();
            Task<VcpuStop?> stopped = Task.Run(() => vcpu.Join(Timeout.InfiniteTimeSpan));
            int which = Task.WaitAny([settled.Task, stopped], timeout);
            FirmwareBootOutcome outcome;
            string detail;
            if (which == 0)
            {
                outcome = settled.Task.Result;
                detail = outcome.ToString();
            }
            else if (which == 1)
            {
                VcpuStop? s = stopped.Result;
                outcome = s?.Reason == VcpuStopReason.Halted ? FirmwareBootOutcome.Halted : FirmwareBootOutcome.Stopped;
                detail = s is null ? "stopped" : $"{s.Reason}: {s.Detail}";
            }
            else
            {
                outcome = FirmwareBootOutcome.TimedOut;
                detail = $"no end after {timeout.TotalSeconds:0.#} s";
            }
            TimeSpan elapsed = clock.Elapsed;
            vcpu.Stop();
            vcpu.Join(TimeSpan.FromSeconds(10));
            lock (lines)
            {
                return new FirmwareBootResult(outcome, detail, elapsed, [.. lines]);
            }
        }
        finally
        {
            if (p?.DebugConsole is { } d)
            {
                d.LineWritten -= OnLine;
            }
            if (p is not null)
            {
                p.Port92.ResetRequested -= OnReset;
                p.Keyboard.ResetRequested -= OnReset;
            }
            if (rc is not null)
            {
                rc.ResetRequested -= OnReset;
            }
            if (pm is not null)
            {
                pm.PowerOffRequested -= OnPowerOff;
            }
        }
    }
}
