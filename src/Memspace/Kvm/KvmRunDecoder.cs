using System.Buffers.Binary;
using Memspace.Interop;
using Memspace.Vcpus;

namespace Memspace.Kvm;

/// <summary>
/// Reads the exit out of a vCPU's <c>struct kvm_run</c> (offsets from <see cref="KvmAbi"/>): what
/// <c>KVM_RUN</c> reported, as a <see cref="PendingExit"/> whose data points into the same page, so that
/// serving a read fills in what KVM hands back to the guest. Works on a span, so anything the page
/// holds (a confused kernel, or a test's hostile bytes) decodes to a defined exit: offsets and lengths
/// that leave the page give <see cref="VcpuExitKind.Unhandled"/>, never an access outside it.
/// </summary>
internal static class KvmRunDecoder
{
    /// <summary>Size of <c>struct kvm_run</c> up to the end of the exit union (the least a page must hold).</summary>
    public const int MinimumLength = KvmAbi.RunExit + 256;

    /// <summary>Decodes the exit in <paramref name="run"/> (the whole mapping, <c>KVM_GET_VCPU_MMAP_SIZE</c> bytes).</summary>
    /// <param name="run">The mapped <c>kvm_run</c> page(s).</param>
    public static PendingExit Decode(Span<byte> run)
    {
        if (run.Length < MinimumLength)
        {
            return new PendingExit(VcpuExitKind.Unhandled, detail: $"kvm_run mapping of {run.Length} bytes is too small");
        }
        uint reason = U32(run, KvmAbi.RunExitReason);
        return reason switch
        {
            KvmAbi.ExitIo => DecodeIo(run),
            KvmAbi.ExitMmio => DecodeMmio(run),
            KvmAbi.ExitHlt => new PendingExit(VcpuExitKind.Halt),
            KvmAbi.ExitShutdown => new PendingExit(VcpuExitKind.Shutdown, detail: "triple fault or shutdown"),
            KvmAbi.ExitFailEntry => new PendingExit(VcpuExitKind.FailEntry,
                detail: $"hardware entry failure reason 0x{U64(run, KvmAbi.RunFailEntryReason):x}"),
            KvmAbi.ExitInternalError => DecodeInternalError(run),
            KvmAbi.ExitSystemEvent => new PendingExit(VcpuExitKind.SystemEvent, detail: U32(run, KvmAbi.RunSystemEventType) switch
            {
                1 => "shutdown",
                2 => "reset",
                3 => "crash",
                uint t => $"type {t}",
            }),
            KvmAbi.ExitIntr => new PendingExit(VcpuExitKind.Interrupted),
            _ => new PendingExit(VcpuExitKind.Unhandled, detail: $"exit reason {reason}"),
        };
    }

    private static PendingExit DecodeIo(Span<byte> run)
    {
        bool isWrite = run[KvmAbi.RunIoDirection] == KvmAbi.IoOut;
        uint size = run[KvmAbi.RunIoSize];
        ushort port = BinaryPrimitives.ReadUInt16LittleEndian(run[KvmAbi.RunIoPort..]);
        uint count = U32(run, KvmAbi.RunIoCount);
        ulong dataOffset = U64(run, KvmAbi.RunIoDataOffset);
        ulong bytes = (ulong)count * size;
        if (dataOffset > (ulong)run.Length || bytes > (ulong)run.Length - dataOffset)
        {
            return new PendingExit(VcpuExitKind.Unhandled, port, size, count, isWrite,
                detail: $"port I/O exit whose data (offset 0x{dataOffset:x}, {count} x {size} bytes) lies outside the {run.Length}-byte kvm_run mapping");
        }
        return new PendingExit(VcpuExitKind.Io, port, size, count, isWrite, run.Slice((int)dataOffset, (int)bytes));
    }

    private static PendingExit DecodeMmio(Span<byte> run)
    {
        ulong address = U64(run, KvmAbi.RunMmioPhysAddr);
        uint length = U32(run, KvmAbi.RunMmioLen);
        bool isWrite = run[KvmAbi.RunMmioIsWrite] != 0;
        if (length is 0 or > 8)
        {
            return new PendingExit(VcpuExitKind.Unhandled, address, length, 1, isWrite,
                detail: $"malformed MMIO exit: 0x{address:x} length {length}");
        }
        return new PendingExit(VcpuExitKind.Mmio, address, length, 1, isWrite, run.Slice(KvmAbi.RunMmioData, (int)length));
    }

    private static PendingExit DecodeInternalError(Span<byte> run)
    {
        uint suberror = U32(run, KvmAbi.RunInternalSuberror);
        string detail = $"KVM internal error, suberror {suberror}";
        if (suberror == KvmAbi.InternalErrorEmulation)
        {
            byte size = run[KvmAbi.RunEmulationInsnSize];
            ulong flags = U64(run, KvmAbi.RunInternalData);
            detail = "emulation failure";
            if ((flags & 1) != 0 && size is > 0 and <= 15)
            {
                detail += ", instruction bytes " + Convert.ToHexString(run.Slice(KvmAbi.RunEmulationInsnBytes, size)).ToLowerInvariant();
            }
        }
        return new PendingExit(VcpuExitKind.InternalError, detail: detail);
    }

    private static uint U32(ReadOnlySpan<byte> run, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(run[offset..]);

    private static ulong U64(ReadOnlySpan<byte> run, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(run[offset..]);
}
