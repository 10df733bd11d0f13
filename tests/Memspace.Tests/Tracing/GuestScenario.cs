using Memspace.Machines;
using Memspace.Tests.Support;
using Memspace.Tracing;
using static Memspace.Tests.Support.ScriptedVcpuBackend;

namespace Memspace.Tests.Tracing;

/// <summary>
/// q35 on a simulated KVM VM with a timeline, then a guest that does what the built-in guest does to
/// the PAM register of 0xf0000 (MCH 0x90), played as port I/O exits through the real exit server:
/// read the host bridge id, set the segment to RAM (0x30), then to read-only RAM (0x10), halt.
/// </summary>
internal sealed class GuestScenario : IDisposable
{
    public GuestScenario(bool runGuest = true)
    {
        Timeline = new ChainTimeline();
        Machine = Machine.Create("q35", new MachineOptions { Timeline = Timeline });
        BoardIoctls = Machine.Kvm!.Trace.Count;
        if (!runGuest)
        {
            return;
        }
        using var vcpu = new Vcpu(new ScriptedVcpuBackend(
            Step.Out(0xcf8, 4, 0x8000_0000),
            Step.In(0xcfc, 4),
            Step.Out(0xcf8, 4, 0x8000_0090),
            Step.In(0xcfc, 1),
            Step.Out(0xcfc, 1, 0x30),
            Step.Out(0x3f8, 1, 'o'),
            Step.Out(0x3f8, 1, 'k'),
            Step.Out(0xcf8, 4, 0x8000_0090),
            Step.Out(0xcfc, 1, 0x10)), Machine.Memory, Machine.Io);
        Timeline.Follow(vcpu);
        Stop = vcpu.Run();
    }

    public ChainTimeline Timeline { get; }

    public Machine Machine { get; }

    /// <summary>Slot ioctls the accelerator had made when the guest started.</summary>
    public int BoardIoctls { get; }

    public VcpuStop? Stop { get; }

    public void Dispose() => Machine.Dispose();
}
