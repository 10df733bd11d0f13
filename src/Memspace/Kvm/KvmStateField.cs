namespace Memspace.Kvm;

/// <summary>One field of a KVM state structure: its name in <c>&lt;linux/kvm.h&gt;</c>, where it sits and how wide it is.</summary>
/// <param name="Name">The kernel's field name ("imr", "redirtbl[3]", "channels[0].count").</param>
/// <param name="Offset">Byte offset in the structure.</param>
/// <param name="Size">1, 2, 4 or 8 bytes.</param>
/// <param name="Signed">Whether the kernel declares it signed (<c>__s64</c>).</param>
public sealed record KvmStateField(string Name, int Offset, int Size, bool Signed);
