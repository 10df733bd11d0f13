namespace Memspace.Machines.Guests;

/// <summary>
/// Where the writing guest (<see cref="DirtyGuest"/>) keeps things in guest-physical memory, its ports,
/// and the pattern and checksum it writes, shared by the guest's code, the pacing device and the
/// host-side verifier.
/// </summary>
public static class DirtyGuestLayout
{
    /// <summary>PML4 of the identity map (then the PDPT and four page directories, one page each).</summary>
    public const ulong PageTables = 0x10_0000;

    /// <summary>The ring-3 control page: the guest's counters, kept current after every page write.</summary>
    public const ulong ControlPage = 0x10_6000;

    /// <summary>Top of the ring-0 stack.</summary>
    public const ulong StackTop = 0x10_8000;

    /// <summary>First byte of the written region.</summary>
    public const ulong RegionBase = 0x20_0000;

    /// <summary>Page size the guest writes in.</summary>
    public const ulong PageSize = 4096;

    /// <summary>Control page: total page writes so far (u64).</summary>
    public const int ControlWrites = 0;

    /// <summary>Control page: running checksum (u64).</summary>
    public const int ControlChecksum = 8;

    /// <summary>Control page: the page the next write goes to (u64).</summary>
    public const int ControlNextPage = 16;

    /// <summary>Control page: the visit count the next write gives its page (u64).</summary>
    public const int ControlNextCount = 24;

    /// <summary>Control page: the page whose previous contents the guest found wrong (u64), ~0 if none.</summary>
    public const int ControlBadPage = 32;

    /// <summary>Control page: <see cref="ControlMagicValue"/>, stored when the guest reaches ring 3 (u64).</summary>
    public const int ControlMagic = 40;

    /// <summary>"DIRTYGST" as a little-endian qword.</summary>
    public const ulong ControlMagicValue = 0x5453_4759_5452_4944;

    /// <summary>First port of the pacing device (<see cref="DirtyPacer"/>).</summary>
    public const ushort PortBase = 0x5e0;

    /// <summary>Read: the total number of page writes allowed so far (low 32 bits).</summary>
    public const ushort PortCredit = PortBase + 0;

    /// <summary>Read: the host's command (0 run, 1 stop). Write: the guest's status (1 stopped, 0x80000000 | page: a page was wrong).</summary>
    public const ushort PortCommand = PortBase + 4;

    /// <summary>Write: progress report (the low 32 bits of the write count; the device reads the counters from the control page).</summary>
    public const ushort PortReport = PortBase + 8;

    /// <summary>Read: "DRTY" (0x59545244), to find the device. Write: the guest has started (its first instruction after the reset vector's jump).</summary>
    public const ushort PortId = PortBase + 12;

    /// <summary>Value of <see cref="PortId"/>.</summary>
    public const uint Id = 0x5954_5244;

    /// <summary>Status bit for a wrong page.</summary>
    public const uint StatusBadPage = 0x8000_0000;

    /// <summary>Multiplier of the page index in <see cref="Pattern"/>.</summary>
    public const ulong PatternPageFactor = 0x9e37_79b9_7f4a_7c15;

    /// <summary>Multiplier of the visit count in <see cref="Pattern"/>.</summary>
    public const ulong PatternCountFactor = 0xc2b2_ae3d_27d4_eb4f;

    /// <summary>The guest RAM a region of <paramref name="regionBytes"/> needs (the region starts at <see cref="RegionBase"/>).</summary>
    /// <param name="regionBytes">Region size in bytes.</param>
    public static ulong RequiredRam(ulong regionBytes) => RegionBase + regionBytes;

    /// <summary>
    /// The qword the guest fills page <paramref name="page"/> with on its <paramref name="count"/>-th visit
    /// (count from 1). The first qword of the page then holds the count, the second the page index.
    /// </summary>
    /// <param name="page">Page index in the region.</param>
    /// <param name="count">Visit count.</param>
    public static ulong Pattern(ulong page, ulong count) => unchecked((page * PatternPageFactor) ^ (count * PatternCountFactor));

    /// <summary>The running checksum after one more write, of <paramref name="pattern"/>: rotate left by 7, add the pattern.</summary>
    /// <param name="checksum">The checksum before.</param>
    /// <param name="pattern">The pattern the write used.</param>
    public static ulong NextChecksum(ulong checksum, ulong pattern) => unchecked(ulong.RotateLeft(checksum, 7) + pattern);
}
