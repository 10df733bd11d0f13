namespace Memspace;

/// <summary>
/// An accelerator that maps guest memory itself (for example KVM), as seen by <c>info mtree -f</c>.
/// </summary>
public interface IMemoryAccelerator
{
    /// <summary>Name appended to ranges the accelerator maps (QEMU prints <c>KVM</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Whether the accelerator maps exactly [<paramref name="start"/>, <paramref name="start"/> +
    /// <paramref name="size"/>) of <paramref name="space"/> (QEMU's <c>AccelClass.has_memory</c>).
    /// </summary>
    /// <param name="space">The address space.</param>
    /// <param name="start">First guest address.</param>
    /// <param name="size">Size in bytes.</param>
    bool HasMemory(AddressSpace space, ulong start, UInt128 size);
}
