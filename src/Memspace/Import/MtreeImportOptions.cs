namespace Memspace.Import;

/// <summary>
/// The facts a QEMU <c>info mtree -D</c> dump does not print, by region name. A name applies to every
/// region of that name.
/// </summary>
public sealed record MtreeImportOptions
{
    /// <summary>
    /// <c>i/o</c> regions with subregions that handle accesses themselves and fill their own gaps
    /// (for example QEMU's <c>io</c> root on PC); by default an <c>i/o</c> region with subregions is a
    /// pure container.
    /// </summary>
    public IReadOnlySet<string> Terminating { get; init; } = new HashSet<string>();

    /// <summary>
    /// <c>i/o</c> regions without subregions that are pure containers (for example <c>gpex_mmio</c> or
    /// <c>platform bus</c>); by default an <c>i/o</c> region without subregions is an I/O region.
    /// </summary>
    public IReadOnlySet<string> Containers { get; init; } = new HashSet<string>();

    /// <summary>Regions that are read-only (QEMU never prints an alias's or container's own read-only flag).</summary>
    public IReadOnlySet<string> ReadOnly { get; init; } = new HashSet<string>();

    /// <summary>
    /// Regions printed as <c>X-X</c> that are empty; by default such a region is taken to be one byte
    /// long (the two print the same).
    /// </summary>
    public IReadOnlySet<string> Empty { get; init; } = new HashSet<string>();
}
