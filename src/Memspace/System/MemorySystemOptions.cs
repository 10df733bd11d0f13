namespace Memspace;

/// <summary>
/// Switches for the places where Memspace deliberately differs from QEMU 7.2. The defaults are
/// the behaviour Memspace considers right; each switch restores QEMU 7.2's behaviour.
/// </summary>
public sealed record MemorySystemOptions
{
    /// <summary>
    /// Give RAM regions host memory. False creates RAMBlocks (with ram_addr offsets and dirty bitmaps)
    /// but maps nothing, for offline analysis of large imported maps; such RAM cannot be accessed.
    /// Default: true.
    /// </summary>
    public bool AllocateRam { get; init; } = true;

    /// <summary>
    /// log2 of the target page size (QEMU's <c>TARGET_PAGE_BITS</c>): the granule of dirty bitmaps
    /// and, times 64, of RAMBlock placement in ram_addr space. 12 (4 KiB) for x86 and aarch64 virt;
    /// QEMU's 32-bit Arm boards use 10.
    /// </summary>
    public int TargetPageBits { get; init; } = 12;

    /// <summary>
    /// When a listener is registered (or unregistered), also replay the address space's ioeventfds
    /// (<c>eventfd_add</c>/<c>eventfd_del</c>) and coalesced ranges, as QEMU has done since 8.x.
    /// QEMU 7.2 replays only ranges and dirty logging, so a listener registered after an ioeventfd
    /// never learns about it. Default: true. Set false for QEMU 7.2's replay.
    /// </summary>
    public bool ReplayIoeventfdsAndCoalescing { get; init; } = true;

    /// <summary>
    /// Let the flat-view root search (<c>memory_region_get_flatview_root</c>) look through aliases and
    /// containers that are read-only, non-volatile or unmergeable, as QEMU 7.2 does. That loses the
    /// flag: an address space rooted at a read-only alias of RAM renders writable RAM. Default: false
    /// (Memspace keeps the flag and renders from the flagged region instead).
    /// </summary>
    public bool FlatViewRootIgnoresFlags { get; init; }

    /// <summary>
    /// Treat a range as read-only when the section is (the region, or an alias or container on the
    /// way to it), for guest writes through an address space and for KVM slots. QEMU 7.2's
    /// <c>address_space_write</c> and KVM look at the terminal region's own flag only, so a read-only
    /// alias of RAM (PAM's <c>pam-rom</c>) is writable there although <c>info mtree -f</c> shows
    /// <c>rom</c>. Default: true. Set false for QEMU 7.2's behaviour.
    /// </summary>
    public bool HonourSectionReadOnly { get; init; } = true;

    /// <summary>
    /// Render incrementally: each commit recomputes only the address intervals its changes can affect,
    /// reusing the cached renderings of everything else, and listeners that do not take
    /// <c>region_nop</c> hear only about the changed intervals. The views, the callbacks and their order
    /// are exactly those of a full render (QEMU's way, kept as the oracle). Default: true. Set false to
    /// render every view from the whole graph at every commit.
    /// </summary>
    public bool IncrementalRendering { get; init; } = true;
}
