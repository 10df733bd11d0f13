using System.Globalization;

namespace Memspace.Kvm;

/// <summary>
/// One <c>KVM_SET_USER_MEMORY_REGION</c> call, as QEMU 7.2 traces it (<c>kvm_set_user_memory</c>).
/// Deletions have size 0 and the old address and host pointer.
/// </summary>
/// <param name="Slot">Slot id with the address-space id in bits 16 and up.</param>
/// <param name="Flags">Slot flags.</param>
/// <param name="Gpa">Guest-physical address.</param>
/// <param name="Size">Size (0: delete).</param>
/// <param name="Ua">Host address.</param>
/// <param name="Ret">0, or -errno.</param>
public readonly record struct KvmSlotEvent(uint Slot, uint Flags, ulong Gpa, ulong Size, ulong Ua, int Ret)
{
    /// <summary>QEMU 7.2's trace line: <c>kvm_set_user_memory Slot#N flags=0x.. gpa=0x.. size=0x.. ua=0x.. ret=N</c>.</summary>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"kvm_set_user_memory Slot#{Slot} flags=0x{Flags:x} gpa=0x{Gpa:x} size=0x{Size:x} ua=0x{Ua:x} ret={Ret}");
}
