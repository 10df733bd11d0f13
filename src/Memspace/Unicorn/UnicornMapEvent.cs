namespace Memspace.Unicorn;

/// <summary>
/// One change of Unicorn's memory map, in the spirit of QEMU's <c>kvm_set_user_memory</c> trace line:
/// <c>uc_mem_map_ptr</c> (guest RAM or ROM mapped to its RAMBlock's host memory), <c>uc_mmio_map</c>
/// (a window whose accesses are dispatched through the address space) or <c>uc_mem_unmap</c>.
/// </summary>
/// <param name="Call">The Unicorn function.</param>
/// <param name="Gpa">Guest-physical start.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Perms">UC_PROT_* bits (0 for MMIO windows and unmaps).</param>
/// <param name="Ua">Host address of the first byte (<c>uc_mem_map_ptr</c> only).</param>
/// <param name="Ret">What Unicorn returned (0: <c>UC_ERR_OK</c>).</param>
/// <param name="Region">The region (or regions, joined with '+') the mapping serves; "unassigned" for a page nothing claims.</param>
public sealed record UnicornMapEvent(string Call, ulong Gpa, ulong Size, int Perms, ulong Ua, int Ret, string Region)
{
    /// <inheritdoc/>
    public override string ToString() => Call switch
    {
        "uc_mem_map_ptr" => $"uc_mem_map_ptr gpa=0x{Gpa:x} size=0x{Size:x} perms=0x{Perms:x} ua=0x{Ua:x} ret={Ret} '{Region}'",
        _ => $"{Call} gpa=0x{Gpa:x} size=0x{Size:x} ret={Ret} '{Region}'",
    };
}
