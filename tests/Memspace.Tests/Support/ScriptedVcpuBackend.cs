namespace Memspace.Tests.Support;

/// <summary>
/// A vCPU backend that plays a list of exits, as a guest program would cause them, ending with HLT:
/// for tests of what a guest's exits do to the machine without KVM.
/// </summary>
internal sealed class ScriptedVcpuBackend(params ScriptedVcpuBackend.Step[] steps) : IVcpuBackend
{
    private readonly Queue<Step> _steps = new(steps);
    private byte[] _buffer = [];

    /// <summary>One exit: port I/O or MMIO of <paramref name="Size"/> bytes; writes carry <paramref name="Value"/>.</summary>
    public sealed record Step(VcpuExitKind Kind, ulong Address, uint Size, bool IsWrite, ulong Value = 0)
    {
        public static Step Out(ushort port, uint size, ulong value) => new(VcpuExitKind.Io, port, size, true, value);

        public static Step In(ushort port, uint size) => new(VcpuExitKind.Io, port, size, false);
    }

    public int Index => 0;

    public PendingExit Run()
    {
        if (!_steps.TryDequeue(out Step? s))
        {
            return new PendingExit(VcpuExitKind.Halt);
        }
        _buffer = new byte[s.Size];
        if (s.IsWrite)
        {
            BitConverter.GetBytes(s.Value).AsSpan(0, (int)s.Size).CopyTo(_buffer);
        }
        return new PendingExit(s.Kind, s.Address, s.Size, 1, s.IsWrite, _buffer);
    }

    public void Kick()
    {
    }

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
