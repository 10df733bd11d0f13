using Memspace.Regions;

namespace Memspace.Tests.Vcpus;

/// <summary>The run loop, pause, stop and event plumbing of <see cref="Vcpu"/>, on a scripted backend (no accelerator).</summary>
public class VcpuTests
{
    /// <summary>A backend that replays a script of exits and then blocks until kicked.</summary>
    private sealed class ScriptedBackend(params Func<PendingExit>[] script) : IVcpuBackend
    {
        private readonly SemaphoreSlim _kicks = new(0);
        private int _next;

        public int Index => 3;

        public int Kicks;

        public int Disposed;

        public X86Registers Registers;

        public X86SystemRegisters SystemRegisters;

        public PendingExit Run()
        {
            if (_next < script.Length)
            {
                return script[_next++]();
            }
            // Out of script: the guest "runs" until someone kicks it.
            _kicks.Wait(TimeSpan.FromSeconds(30));
            return new PendingExit(VcpuExitKind.Interrupted);
        }

        public void Kick()
        {
            Interlocked.Increment(ref Kicks);
            _kicks.Release();
        }

        public X86Registers GetRegisters() => Registers;

        public void SetRegisters(in X86Registers registers) => Registers = registers;

        public X86SystemRegisters GetSystemRegisters() => SystemRegisters;

        public void SetSystemRegisters(in X86SystemRegisters registers) => SystemRegisters = registers;

        public void Dispose() => Interlocked.Increment(ref Disposed);
    }

    private static (AddressSpace Memory, AddressSpace Io, List<ulong> Port80) Spaces()
    {
        var s = new MemorySystem();
        var writes = new List<ulong>();
        var io = MemoryRegion.CreateContainer(s, "io", 0x10000);
        io.AddSubregion(0x80, MemoryRegion.CreateIo(s, "port80", 1, new MemoryRegionOps { Read = (_, _) => 0, Write = (_, v, _) => writes.Add(v) }));
        return (s.CreateAddressSpace(MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64), "memory"), s.CreateAddressSpace(io, "I/O"), writes);
    }

    private static Func<PendingExit> Out80(byte value) => () => new PendingExit(VcpuExitKind.Io, 0x80, 1, 1, isWrite: true, new[] { value });

    [Fact]
    public void RunServesExitsUntilTheGuestHalts()
    {
        var (memory, io, port80) = Spaces();
        var backend = new ScriptedBackend(Out80(1), Out80(2), () => new PendingExit(VcpuExitKind.Interrupted), Out80(3), () => new PendingExit(VcpuExitKind.Halt));
        using var vcpu = new Vcpu(backend, memory, io);
        var seen = new List<VcpuExitKind>();
        vcpu.Exited += e => seen.Add(e.Kind);
        VcpuStop stop = vcpu.Run();
        Assert.Equal(VcpuStopReason.Halted, stop.Reason);
        Assert.Equal([1UL, 2UL, 3UL], port80);
        Assert.Equal([VcpuExitKind.Io, VcpuExitKind.Io, VcpuExitKind.Interrupted, VcpuExitKind.Io, VcpuExitKind.Halt], seen);
        Assert.Same(stop, vcpu.StopState);
    }

    [Theory]
    [InlineData(VcpuExitKind.Shutdown, VcpuStopReason.Shutdown)]
    [InlineData(VcpuExitKind.FailEntry, VcpuStopReason.FailEntry)]
    [InlineData(VcpuExitKind.InternalError, VcpuStopReason.InternalError)]
    [InlineData(VcpuExitKind.SystemEvent, VcpuStopReason.SystemEvent)]
    [InlineData(VcpuExitKind.Unhandled, VcpuStopReason.Unhandled)]
    [InlineData(VcpuExitKind.Failed, VcpuStopReason.Unhandled)]
    public void TerminalExitsEndTheRunWithTheirDetail(VcpuExitKind kind, VcpuStopReason reason)
    {
        var (memory, io, _) = Spaces();
        using var vcpu = new Vcpu(new ScriptedBackend(() => new PendingExit(kind, detail: "details")), memory, io);
        VcpuStop stop = vcpu.Run();
        Assert.Equal(reason, stop.Reason);
        Assert.Equal("details", stop.Detail);
    }

    [Fact]
    public void PauseParksTheThreadAndStopEndsIt()
    {
        var (memory, io, port80) = Spaces();
        var backend = new ScriptedBackend(Out80(7));
        using var vcpu = new Vcpu(backend, memory, io);
        var first = new ManualResetEventSlim();
        vcpu.Exited += _ => first.Set();
        vcpu.Start();
        Assert.True(first.Wait(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.True(vcpu.Pause(TimeSpan.FromSeconds(30)));     // kicks the backend out of its blocking run
        Assert.True(backend.Kicks >= 1);
        Assert.Null(vcpu.Join(TimeSpan.Zero));
        vcpu.Resume();
        vcpu.Stop();
        VcpuStop? stop = vcpu.Join(TimeSpan.FromSeconds(30));
        Assert.Equal(VcpuStopReason.Stopped, stop?.Reason);
        Assert.Equal([7UL], port80);
    }

    [Fact]
    public void ResetStatePutsTheVcpuAtTheResetVector()
    {
        var (memory, io, _) = Spaces();
        var backend = new ScriptedBackend();
        using var vcpu = new Vcpu(backend, memory, io);
        vcpu.SetResetState();
        Assert.Equal(0xfff0UL, backend.Registers.Rip);
        Assert.Equal(2UL, backend.Registers.Rflags);
        Assert.Equal(0xffff0000UL, backend.SystemRegisters.Cs.Base);
        Assert.Equal(0xf000, backend.SystemRegisters.Cs.Selector);
        Assert.Equal(0UL, backend.SystemRegisters.Cr0 & 1);
        vcpu.SetRealMode(0x1000, 0x20);
        Assert.Equal(0x10000UL, backend.SystemRegisters.Cs.Base);
        Assert.Equal(0x20UL, backend.Registers.Rip);
    }

    [Fact]
    public void DisposeReleasesTheBackendOnce()
    {
        var (memory, io, _) = Spaces();
        var backend = new ScriptedBackend();
        var vcpu = new Vcpu(backend, memory, io);
        vcpu.Dispose();
        vcpu.Dispose();
        Assert.Equal(1, backend.Disposed);
        Assert.Throws<ObjectDisposedException>(() => vcpu.RunOnce());
    }
}
