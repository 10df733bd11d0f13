using Memspace.Ram;

namespace Memspace.Unicorn;

/// <summary>One mapping in Unicorn's memory map.</summary>
/// <param name="Kind">RAM, MMIO window or unassigned page.</param>
/// <param name="Start">Guest-physical start (page-aligned).</param>
/// <param name="Size">Size (a multiple of the page size).</param>
/// <param name="Perms">UC_PROT_* bits for RAM (read and exec only for ROM and read-only sections); 0 for windows.</param>
/// <param name="Host">Host address of the first byte for RAM; 0 for windows.</param>
/// <param name="Region">The region or regions it serves.</param>
public sealed record UnicornMapping(UnicornMappingKind Kind, ulong Start, ulong Size, int Perms, nint Host, string Region)
{
    /// <summary>The RAMBlock whose host memory a RAM mapping uses; kept alive until Unicorn has unmapped it.</summary>
    internal RamBlock? Block { get; init; }

    /// <summary>One past the last address.</summary>
    public ulong End => Start + Size;

    /// <summary>Whether two mappings give Unicorn the same thing (the region name aside).</summary>
    internal bool SameAs(UnicornMapping other)
        => Kind == other.Kind && Start == other.Start && Size == other.Size && Perms == other.Perms && Host == other.Host;

    /// <inheritdoc/>
    public override string ToString()
        => $"[0x{Start:x}, 0x{End:x}) {Kind.ToString().ToLowerInvariant()}{(Kind == UnicornMappingKind.Ram ? $" perms 0x{Perms:x} host 0x{Host:x}" : "")} '{Region}'";
}
