using System.Diagnostics;
using Memspace.Core;
using Memspace.Machines;
using Memspace.Machines.Guests;
using Memspace.Vcpus;

namespace Memspace.Cli.Guest;

/// <summary>
/// <c>memspace run --guest dirty</c>: runs the writing guest (<see cref="DirtyGuest"/>) for a while at a set
/// rate, printing its progress each second, then stops it, verifies its RAM
/// (<see cref="DirtyVerifier"/>) and prints the <c>VERIFY</c> line.
/// </summary>
internal static class DirtyGuestRunner
{
    /// <summary>Runs the guest on <paramref name="machine"/> (built with <see cref="DirtyGuest.Build"/> as its firmware); null when it verified, or what went wrong.</summary>
    /// <param name="machine">The machine.</param>
    /// <param name="o">Where the lines go.</param>
    /// <param name="regionBytes">The region the guest was built for.</param>
    /// <param name="rate">Pages per second; 0 for unpaced.</param>
    /// <param name="runFor">How long to let it write.</param>
    public static string? Run(Machine machine, TextWriter o, ulong regionBytes, double rate, TimeSpan runFor)
    {
        ulong pages = regionBytes / DirtyGuestLayout.PageSize;
        if (!machine.CanRunGuest || machine.Unicorn is not null)
        {
            o.WriteLine(machine.Unicorn is not null
                ? "guest: not run: the writing guest runs in long mode, which the Unicorn accelerator (x86 in 32-bit mode) does not offer; it needs KVM."
                : $"guest: not run: {machine.KvmUnavailableReason ?? "no KVM VM"}; the writing guest needs KVM.");
            return null;
        }
        DirtyPacer pacer = DirtyPacer.Attach(machine, rate);
        if (GuestVcpu.TryCreate(machine, o, out string? noVcpu) is not { } vcpu)
        {
            return noVcpu;
        }
        using var owned = vcpu;
        o.WriteLine($"dirty: writing {pages} pages ({RamSize.Format(regionBytes)} at 0x{DirtyGuestLayout.RegionBase:x}) " +
                    (rate == 0 ? "unpaced" : $"at {rate:0} pages/s") + $" for {runFor.TotalSeconds:0.#} s");
        TimeSpan started = pacer.Elapsed;
        vcpu.Start();
        TimeSpan? ring3 = null;
        // Until the guest reaches ring 3 (its first report), poll often: that moment is a measurement.
        SpinWait.SpinUntil(() => pacer.FirstReport is not null || vcpu.StopState is not null, TimeSpan.FromSeconds(30));
        if (pacer.FirstReport is { } first)
        {
            ring3 = first - started;
            int instructions = DirtyGuest.PrologueInstructions(regionBytes);
            TimeSpan prologue = first - (pacer.GuestStarted ?? started);
            o.WriteLine($"dirty: ring 3 reached {ring3.Value.TotalMilliseconds:F2} ms after the vCPU started; the prologue's {instructions} emulated CPL0 instructions " +
                        $"took {prologue.TotalMilliseconds:F2} ms from the guest's first port write ({instructions / Math.Max(1e-6, prologue.TotalMilliseconds):F0} per ms)");
            ulong lastWrites = 0;
            TimeSpan lastTime = first;
            while (pacer.Elapsed - first < runFor && vcpu.StopState is null && pacer.BadPage is null)
            {
                TimeSpan left = runFor - (pacer.Elapsed - first);
                if (left < TimeSpan.FromMilliseconds(5))
                {
                    break;
                }
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Clamp(left.TotalMilliseconds, 1, 1000)));
                ulong writes = pacer.Writes;
                TimeSpan now = pacer.Elapsed;
                double perSecond = (writes - lastWrites) / Math.Max(1e-9, (now - lastTime).TotalSeconds);
                o.WriteLine($"dirty: t={(now - first).TotalSeconds:F1}s writes={writes} passes={writes / pages} rate={perSecond:F0} pages/s ({perSecond * DirtyGuestLayout.PageSize / (1 << 20):F0} MiB/s)");
                lastWrites = writes;
                lastTime = now;
            }
        }
        string? failure = null;
        if (vcpu.StopState is { } early)
        {
            failure = $"the guest stopped: {early.Reason}: {early.Detail}";
        }
        else if (ring3 is null)
        {
            failure = "the guest did not reach ring 3 within 30 s";
        }
        TimeSpan stopAt = pacer.Elapsed;
        pacer.RequestStop();
        bool acknowledged = SpinWait.SpinUntil(() => pacer.Stopped || pacer.BadPage is not null || vcpu.StopState is not null, TimeSpan.FromSeconds(10));
        vcpu.Stop();
        vcpu.Join(TimeSpan.FromSeconds(10));
        if (failure is null && !acknowledged)
        {
            failure = "the guest did not acknowledge the stop within 10 s";
        }
        if (ring3 is null)
        {
            o.WriteLine($"guest: {vcpu.StopState?.Reason.ToString() ?? "Stopped"}: {vcpu.StopState?.Detail ?? "no progress"}; the writing guest never reached ring 3");
            return noVcpu;
        }
        TimeSpan total = stopAt - started - ring3.Value;
        DirtyVerification v = DirtyVerifier.Verify(machine.Memory, pages);
        {
            o.WriteLine($"dirty: {v.Writes} page writes in {total.TotalSeconds:F2} s of ring 3 (until the stop was asked): {v.Writes / total.TotalSeconds:F0} pages/s on average");
        }
        o.WriteLine(v.ToString());
        o.WriteLine($"guest: {(v.Ok ? "Stopped" : "Failed")}: {(v.Ok ? "the writing guest verified" : v.Problem)}");
        return failure ?? (v.Ok ? null : $"verification failed: {v.Problem}");
    }
}
