using System.Text;
using Memspace.Machines;
using Memspace.Machines.Firmware;
using Memspace.Tests.Devices;
using Memspace.Tests.Support;

namespace Memspace.Tests.Firmware;

/// <summary>
/// The firmware runner on a scripted vCPU backend (any accelerator works through <see cref="Vcpu"/>), and
/// the live SeaBIOS boots, which need KVM.
/// </summary>
public class FirmwareBootTests
{
    /// <summary>Replays port exits, then blocks until kicked.</summary>
    private sealed class ScriptedBackend(IEnumerable<(VcpuExitKind Kind, ushort Port, byte Value)> script) : IVcpuBackend
    {
        private readonly IEnumerator<(VcpuExitKind Kind, ushort Port, byte Value)> _script = script.GetEnumerator();
        private readonly SemaphoreSlim _kicks = new(0);

        public int Index => 0;

        public PendingExit Run()
        {
            if (_script.MoveNext())
            {
                (VcpuExitKind kind, ushort port, byte value) = _script.Current;
                return kind == VcpuExitKind.Io ? new PendingExit(kind, port, 1, 1, isWrite: true, new[] { value }) : new PendingExit(kind);
            }
            _kicks.Wait(TimeSpan.FromSeconds(30));
            return new PendingExit(VcpuExitKind.Interrupted);
        }

        public void Kick() => _kicks.Release();

        public X86Registers GetRegisters() => default;

        public void SetRegisters(in X86Registers registers)
        {
        }

        public X86SystemRegisters GetSystemRegisters() => default;

        public void SetSystemRegisters(in X86SystemRegisters registers)
        {
        }

        public void Dispose()
        {
        }
    }

    private static IEnumerable<(VcpuExitKind, ushort, byte)> Print(string text)
        => Encoding.ASCII.GetBytes(text).Select(c => (VcpuExitKind.Io, (ushort)0x402, c));

    [Fact]
    public void StopsAtTheEndMarkerAndKeepsTheLines()
    {
        using var b = new PortBench("q35");
        var backend = new ScriptedBackend(Print("SeaBIOS (version 1.16.2)\nBooting from Floppy...\nNo bootable device.\nnever read\n"));
        using var vcpu = new Vcpu(backend, b.Machine.Memory, b.Machine.Io);
        var streamed = new List<string>();
        FirmwareBootResult r = FirmwareBoot.Run(b.Machine, vcpu, TimeSpan.FromSeconds(20), streamed.Add);
        Assert.Equal(FirmwareBootOutcome.ReachedEnd, r.Outcome);
        Assert.Equal(["SeaBIOS (version 1.16.2)", "Booting from Floppy...", "No bootable device."], r.Lines.Take(3));
        Assert.Equal(r.Lines.Take(3), streamed.Take(3));
    }

    [Fact]
    public void HaltWithNothingPendingEndsTheRun()
    {
        using var b = new PortBench("pc");
        using var vcpu = new Vcpu(new ScriptedBackend([.. Print("x\n"), (VcpuExitKind.Halt, 0, 0)]), b.Machine.Memory, b.Machine.Io);
        FirmwareBootResult r = FirmwareBoot.Run(b.Machine, vcpu, TimeSpan.FromSeconds(20));
        Assert.Equal(FirmwareBootOutcome.Halted, r.Outcome);
    }

    [Theory]
    [InlineData("pc", (ushort)0xcf9, (byte)0x06)]
    [InlineData("q35", (ushort)0x92, (byte)0x01)]
    public void AResetRequestEndsTheRun(string machine, ushort port, byte value)
    {
        using var b = new PortBench(machine);
        using var vcpu = new Vcpu(new ScriptedBackend([(VcpuExitKind.Io, port, value)]), b.Machine.Memory, b.Machine.Io);
        Assert.Equal(FirmwareBootOutcome.ResetRequested, FirmwareBoot.Run(b.Machine, vcpu, TimeSpan.FromSeconds(20)).Outcome);
    }

    [Fact]
    public void TimesOutWhenNothingHappens()
    {
        using var b = new PortBench("q35");
        using var vcpu = new Vcpu(new ScriptedBackend([]), b.Machine.Memory, b.Machine.Io);
        FirmwareBootResult r = FirmwareBoot.Run(b.Machine, vcpu, TimeSpan.FromMilliseconds(200));
        Assert.Equal(FirmwareBootOutcome.TimedOut, r.Outcome);
    }

    [Theory]
    [InlineData("pc")]
    [InlineData("q35")]
    public void SeaBiosReachesNoBootableDeviceOnKvm(string machine)
    {
        KvmGuest.RequireKvm();
        byte[] image = SeaBios.Load("seabios", out string? error) ?? throw new InvalidOperationException(error);
        using var m = (X86Machine)Machine.Create(machine, new MachineOptions
        {
            Accelerator = MachineAccelerator.Kvm, Firmware = image, DebugConsole = true, DemoDevice = false, Serial = false, Smm = false,
        });
        using Vcpu vcpu = m.CreateVcpu();
        FirmwareBootResult r = FirmwareBoot.Run(m, vcpu, TimeSpan.FromSeconds(60));
        Assert.True(r.ReachedEnd, $"{r.Outcome}: {r.Detail}; last lines: {string.Join(" | ", r.Lines.TakeLast(5))}");
    }
}
