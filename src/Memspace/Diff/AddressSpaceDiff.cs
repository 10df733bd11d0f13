namespace Memspace.Diff;

/// <summary>Where an address space or region is found.</summary>
public enum DiffPresence
{
    /// <summary>On both sides.</summary>
    Both,

    /// <summary>Only on the left (A).</summary>
    Left,

    /// <summary>Only on the right (B).</summary>
    Right,
}

/// <summary>How one address space's flat view differs between two maps.</summary>
/// <param name="Name">The address space's name.</param>
/// <param name="Presence">Which sides have it.</param>
/// <param name="Added">Ranges only B has (exact start and end).</param>
/// <param name="Removed">Ranges only A has.</param>
/// <param name="Changed">Ranges with the same start and end whose type, region, offset or flags differ.</param>
public sealed record AddressSpaceDiff(
    string Name, DiffPresence Presence, IReadOnlyList<MapRange> Added, IReadOnlyList<MapRange> Removed,
    IReadOnlyList<(MapRange Left, MapRange Right)> Changed)
{
    /// <summary>Whether the address space is the same on both sides.</summary>
    public bool IsEqual => Presence == DiffPresence.Both && Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0;
}
