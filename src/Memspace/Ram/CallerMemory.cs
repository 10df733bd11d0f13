namespace Memspace.Ram;

/// <summary>Memory the caller owns (QEMU's RAM_PREALLOC): Memspace neither discards nor unmaps it.</summary>
internal sealed class CallerMemory(nint pointer, ulong length)
    : HostMemory(pointer, length, HostPageSize, shared: false, fd: -1)
{
    public override string Kind => "caller-provided";

    private protected override void DiscardCore(ulong offset, ulong length)
        => throw new InvalidOperationException("memory provided by the caller cannot be discarded by Memspace");

    private protected override void Release()
    {
    }
}
