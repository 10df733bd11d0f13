using Memspace.Regions;

namespace Memspace.Printing;

/// <summary>Pieces of text shared by the <c>info mtree</c> printers.</summary>
internal static class MtreeFormat
{
    public const string Indent = "  ";

    /// <summary>QEMU's <c>memory_region_type</c>: the type column (aliases show their target's type).</summary>
    public static string TypeName(MemoryRegion mr)
    {
        while (mr.AliasTarget is { } target)
        {
            mr = target;
        }
        if (mr.IsRamDevice)
        {
            return "ramd";
        }
        if (mr.IsRomd)
        {
            return "romd";
        }
        if (mr.IsRom)
        {
            return "rom";
        }
        return mr.IsRam ? "ram" : "i/o";
    }

    /// <summary>QEMU's <c>MR_SIZE</c>: size − 1 in 64 bits, or 0 for an empty region.</summary>
    public static ulong LastOffset(UInt128 size) => size == 0 ? 0 : (ulong)(size - 1);

    /// <summary>A 16-digit lower-case hex address (<c>TARGET_FMT_plx</c>).</summary>
    public static string Hex(ulong value) => value.ToString("x16");

    /// <summary>QEMU's <c>mtree_print_mr_owner</c>: the owner and, when it differs, the QOM parent.</summary>
    public static string OwnerText(MemoryRegion mr)
    {
        // A named region is a QOM child of its owner, or of /machine/unattached when it has none,
        // so the parent differs from the owner only for ownerless regions.
        return mr.Owner is { } owner
            ? " " + owner.Describe("owner")
            : " " + MemoryRegionOwner.Unattached.Describe("parent");
    }
}
