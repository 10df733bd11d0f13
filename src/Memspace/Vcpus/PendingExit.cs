namespace Memspace.Vcpus;

/// <summary>
/// An exit as an accelerator reports it, before it is served: what the guest did and, for port I/O
/// and MMIO, the bytes it wrote or the buffer its read waits for. <see cref="Data"/> usually lies in
/// memory the accelerator shares with the guest's run (KVM's <c>kvm_run</c> page), so a read is answered
/// by filling it; tests build exits around their own buffers.
/// </summary>
public readonly ref struct PendingExit
{
    /// <summary>Creates an exit.</summary>
    /// <param name="kind">What happened.</param>
    /// <param name="address">Port or guest-physical address, or the instruction pointer.</param>
    /// <param name="size">Width of one item in bytes (port I/O: 1, 2 or 4; MMIO: 1 to 8).</param>
    /// <param name="count">Number of items (string port I/O), at least 1 for I/O and MMIO.</param>
    /// <param name="isWrite">Whether the guest wrote.</param>
    /// <param name="data">The items, <paramref name="count"/> × <paramref name="size"/> bytes.</param>
    /// <param name="detail">A description for exits that end the run.</param>
    public PendingExit(VcpuExitKind kind, ulong address = 0, uint size = 0, uint count = 0, bool isWrite = false, Span<byte> data = default, string? detail = null)
    {
        Kind = kind;
        Address = address;
        Size = size;
        Count = count;
        IsWrite = isWrite;
        Data = data;
        Detail = detail;
    }

    /// <summary>What happened.</summary>
    public VcpuExitKind Kind { get; }

    /// <summary>Port or guest-physical address, or the instruction pointer.</summary>
    public ulong Address { get; }

    /// <summary>Width of one item in bytes.</summary>
    public uint Size { get; }

    /// <summary>Number of items.</summary>
    public uint Count { get; }

    /// <summary>Whether the guest wrote.</summary>
    public bool IsWrite { get; }

    /// <summary>The items: what the guest wrote, or where a read's answer goes.</summary>
    public Span<byte> Data { get; }

    /// <summary>A description for exits that end the run.</summary>
    public string? Detail { get; }
}
