using System.Runtime.InteropServices;
using Memspace.Interop;

namespace Memspace.Kvm;

/// <summary>Packing and unpacking of <c>struct kvm_cpuid2</c> (an 8-byte header followed by the entries).</summary>
internal static class KvmCpuid
{
    /// <summary>The bytes of a <c>kvm_cpuid2</c> holding <paramref name="entries"/>.</summary>
    public static byte[] Pack(ReadOnlySpan<KvmCpuidEntry2> entries)
    {
        byte[] buffer = new byte[8 + (entries.Length * Marshal.SizeOf<KvmCpuidEntry2>())];
        BitConverter.TryWriteBytes(buffer, (uint)entries.Length);
        MemoryMarshal.AsBytes(entries).CopyTo(buffer.AsSpan(8));
        return buffer;
    }

    /// <summary>The entries of a <c>kvm_cpuid2</c> whose header says how many there are (at most what fits).</summary>
    public static KvmCpuidEntry2[] Unpack(ReadOnlySpan<byte> buffer)
    {
        int size = Marshal.SizeOf<KvmCpuidEntry2>();
        int count = (int)Math.Min(BitConverter.ToUInt32(buffer), (uint)((buffer.Length - 8) / size));
        return MemoryMarshal.Cast<byte, KvmCpuidEntry2>(buffer.Slice(8, count * size)).ToArray();
    }
}
