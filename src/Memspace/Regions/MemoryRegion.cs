using Memspace.Core;
using Memspace.Ram;

namespace Memspace.Regions;

/// <summary>
/// A node of the memory graph (QEMU's <c>MemoryRegion</c>): a container, an I/O region with
/// callbacks, RAM, ROM, a ROM device, a RAM device, a reservation or an alias of another region.
/// </summary>
/// <remarks>
/// <para>
/// Regions are created with the <c>Create*</c> factories, which correspond to QEMU's
/// <c>memory_region_init*</c> functions, and belong to one <see cref="RegionGraph"/> (a <see cref="MemorySystem"/>). Every
/// mutator is a small transaction: outside an explicit
/// <see cref="RegionGraph.BeginTransaction"/>/<see cref="RegionGraph.CommitTransaction"/> pair
/// each change is rendered and reported to listeners at once.
/// </para>
/// <para>
/// Sizes are 128-bit so that a region can span the whole 64-bit space: a size of exactly
/// 2^64 is allowed, and, as in QEMU, <see cref="ulong.MaxValue"/> passed as a size means 2^64.
/// Misuse (a cycle, a region in two containers, subregions on an alias, ...) throws
/// <see cref="MemoryTopologyException"/> and leaves the graph unchanged.
/// </para>
/// </remarks>
public sealed partial class MemoryRegion
{
    /// <summary>2^64: the size of a region that covers the whole 64-bit address space.</summary>
    public static readonly UInt128 Size2To64 = (UInt128)1 << 64;

    private readonly SubregionIndex _subregions = new();
    private List<MemoryRegion>? _aliasReferrers;
    private readonly List<MemoryRegionIoeventfd> _ioeventfds = [];
    private readonly List<CoalescedRange> _coalesced = [];
    private UInt128 _size;
    private ulong _address;
    private int _priority;
    private bool _enabled = true;
    private ulong _aliasOffset;
    private bool _readOnly;
    private bool _nonVolatile;
    private bool _unmergeable;
    private bool _romdMode = true;
    private byte _dirtyLogMask;
    private int _vgaLoggingCount;

    private MemoryRegion(RegionGraph system, MemoryRegionKind kind, string name, UInt128 size, MemoryRegionOwner? owner)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(name);
        System = system;
        Kind = kind;
        Name = name;
        Owner = owner;
        _size = NormalizeSize(size, nameof(size));
        Serial = system.NextSerial();
    }

    // ------------------------------------------------------------------------------------------
    // Factories (QEMU's memory_region_init* family)
    // ------------------------------------------------------------------------------------------

    /// <summary>Creates a pure container (<c>memory_region_init</c>).</summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>.</param>
    /// <param name="size">Size in bytes, at most 2^64 (<see cref="ulong.MaxValue"/> means 2^64).</param>
    /// <param name="owner">Owning device or object, or null.</param>
    public static MemoryRegion CreateContainer(RegionGraph system, string name, UInt128 size, MemoryRegionOwner? owner = null)
        => new(system, MemoryRegionKind.Container, name, size, owner);

    /// <summary>Creates an MMIO or port I/O region with callbacks (<c>memory_region_init_io</c>).</summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>.</param>
    /// <param name="size">Size in bytes, at most 2^64 (<see cref="ulong.MaxValue"/> means 2^64).</param>
    /// <param name="ops">The device callbacks and access rules.</param>
    /// <param name="owner">Owning device or object, or null.</param>
    public static MemoryRegion CreateIo(RegionGraph system, string name, UInt128 size, MemoryRegionOps ops, MemoryRegionOwner? owner = null)
    {
        ArgumentNullException.ThrowIfNull(ops);
        return new(system, MemoryRegionKind.Io, name, size, owner) { Ops = ops, Terminates = true };
    }

    /// <summary>
    /// Creates a reservation: a region that hides whatever lies below it and rejects every access
    /// (<c>memory_region_init_io</c> with no ops).
    /// </summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>.</param>
    /// <param name="size">Size in bytes, at most 2^64 (<see cref="ulong.MaxValue"/> means 2^64).</param>
    /// <param name="owner">Owning device or object, or null.</param>
    public static MemoryRegion CreateReservation(RegionGraph system, string name, UInt128 size, MemoryRegionOwner? owner = null)
        => new(system, MemoryRegionKind.Reservation, name, size, owner) { Terminates = true };

    /// <summary>
    /// Creates guest RAM with its RAMBlock (<c>memory_region_init_ram</c>, or with
    /// <see cref="RamBlockOptions"/> the resizeable, shared, file, memfd, huge-page and pointer variants).
    /// </summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>, and the RAMBlock id (prefixed by a device owner's qdev path).</param>
    /// <param name="size">Size in bytes.</param>
    /// <param name="owner">Owning device or object, or null.</param>
    /// <param name="ram">How the RAMBlock is backed; null for anonymous private memory.</param>
    public static MemoryRegion CreateRam(RegionGraph system, string name, UInt128 size, MemoryRegionOwner? owner = null, RamBlockOptions? ram = null)
        => new MemoryRegion(system, MemoryRegionKind.Ram, name, size, owner) { Terminates = true, IsRam = true }
            .WithRamBlock(ram ?? RamBlockOptions.Default);

    /// <summary>Creates read-only memory (<c>memory_region_init_rom</c>): RAM whose guest writes are rejected.</summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>, and the RAMBlock id.</param>
    /// <param name="size">Size in bytes.</param>
    /// <param name="owner">Owning device or object, or null.</param>
    /// <param name="ram">How the RAMBlock is backed; null for anonymous private memory.</param>
    public static MemoryRegion CreateRom(RegionGraph system, string name, UInt128 size, MemoryRegionOwner? owner = null, RamBlockOptions? ram = null)
        => new MemoryRegion(system, MemoryRegionKind.Rom, name, size, owner) { Terminates = true, IsRam = true, _readOnly = true }
            .WithRamBlock(ram ?? RamBlockOptions.Default);

    /// <summary>
    /// Creates a ROM device (<c>memory_region_init_rom_device</c>): in romd mode (the default) reads
    /// come straight from its memory and writes go to <paramref name="ops"/>; with romd mode off every
    /// access goes to <paramref name="ops"/>.
    /// </summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>.</param>
    /// <param name="size">Size in bytes.</param>
    /// <param name="ops">The device callbacks.</param>
    /// <param name="owner">Owning device or object, or null.</param>
    /// <param name="ram">How the RAMBlock is backed; null for anonymous private memory.</param>
    public static MemoryRegion CreateRomDevice(RegionGraph system, string name, UInt128 size, MemoryRegionOps ops, MemoryRegionOwner? owner = null, RamBlockOptions? ram = null)
    {
        ArgumentNullException.ThrowIfNull(ops);
        return new MemoryRegion(system, MemoryRegionKind.RomDevice, name, size, owner) { Ops = ops, Terminates = true, IsRomDevice = true }
            .WithRamBlock(ram ?? RamBlockOptions.Default);
    }

    /// <summary>
    /// Creates a RAM device (<c>memory_region_init_ram_device_ptr</c>): memory that KVM maps
    /// directly but that the core accesses like MMIO (any size from 1 to 8 bytes, unaligned allowed).
    /// </summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>.</param>
    /// <param name="size">Size in bytes.</param>
    /// <param name="owner">Owning device or object, or null.</param>
    /// <param name="memory">The device memory (for example an mmap'd PCI BAR); null maps anonymous memory.</param>
    public static MemoryRegion CreateRamDevice(RegionGraph system, string name, UInt128 size, MemoryRegionOwner? owner = null, HostMemory? memory = null)
    {
        MemoryRegion mr = new MemoryRegion(system, MemoryRegionKind.RamDevice, name, size, owner) { Terminates = true, IsRam = true, IsRamDevice = true }
            .WithRamBlock(new RamBlockOptions { Memory = memory, Migratable = false });
        mr.Ops = RamDeviceOps.For(mr);
        return mr;
    }

    /// <summary>
    /// Creates an alias (<c>memory_region_init_alias</c>): a window of <paramref name="size"/> bytes
    /// onto <paramref name="target"/> starting at <paramref name="offset"/>. The target may be any
    /// region, including a container or another alias.
    /// </summary>
    /// <param name="system">The memory system the region belongs to.</param>
    /// <param name="name">Name printed by <c>info mtree</c>.</param>
    /// <param name="target">The aliased region.</param>
    /// <param name="offset">Offset of the window inside <paramref name="target"/>.</param>
    /// <param name="size">Size of the window.</param>
    /// <param name="owner">Owning device or object, or null.</param>
    public static MemoryRegion CreateAlias(RegionGraph system, string name, MemoryRegion target, ulong offset, UInt128 size, MemoryRegionOwner? owner = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.System != system)
        {
            throw new MemoryTopologyException($"alias '{name}': target '{target.Name}' belongs to another memory system");
        }
        var alias = new MemoryRegion(system, MemoryRegionKind.Alias, name, size, owner) { AliasTarget = target, _aliasOffset = offset };
        lock (system.TopologyLock)
        {
            target.CheckNotDestroyed();
            target._aliasReferences++;
            (target._aliasReferrers ??= []).Add(alias);
        }
        return alias;
    }

    // ------------------------------------------------------------------------------------------
    // Identity and attributes
    // ------------------------------------------------------------------------------------------

    /// <summary>The memory system the region belongs to.</summary>
    public RegionGraph System { get; }

    /// <summary>How the region was created.</summary>
    public MemoryRegionKind Kind { get; }

    /// <summary>The region's name.</summary>
    public string Name { get; }

    /// <summary>The owning device or object, or null.</summary>
    public MemoryRegionOwner? Owner { get; }

    /// <summary>Size in bytes (up to 2^64).</summary>
    public UInt128 Size => _size;

    /// <summary>Size as QEMU's <c>memory_region_size</c> returns it: 2^64 is reported as <see cref="ulong.MaxValue"/>.</summary>
    public ulong Size64 => _size == Size2To64 ? ulong.MaxValue : (ulong)_size;

    /// <summary>Offset of the region inside its container (QEMU's <c>addr</c>).</summary>
    public ulong Address => _address;

    /// <summary>The container the region is mapped in, or null.</summary>
    public MemoryRegion? Container { get; private set; }

    /// <summary>Priority among the siblings in its container; higher wins where they overlap.</summary>
    public int Priority => _priority;

    /// <summary>Whether the region is rendered at all.</summary>
    public bool Enabled => _enabled;

    /// <summary>The aliased region, or null when this is not an alias.</summary>
    public MemoryRegion? AliasTarget { get; private init; }

    /// <summary>Whether this region is an alias.</summary>
    public bool IsAlias => AliasTarget is not null;

    /// <summary>Offset of an alias's window inside its target.</summary>
    public ulong AliasOffset => _aliasOffset;

    /// <summary>
    /// Whether the region handles accesses itself (RAM, ROM, ROM device, I/O, reservation) and so
    /// fills whatever part of its extent its subregions leave; false for pure containers and aliases.
    /// </summary>
    public bool Terminates { get; private init; }

    /// <summary>Whether the region is backed by memory that is accessed directly (RAM, ROM, RAM device).</summary>
    public bool IsRam { get; private init; }

    /// <summary>Whether the region is a ROM device.</summary>
    public bool IsRomDevice { get; private init; }

    /// <summary>Whether the region is a RAM device.</summary>
    public bool IsRamDevice { get; private init; }

    /// <summary>QEMU's <c>memory_region_is_rom</c>: RAM that is read-only.</summary>
    public bool IsRom => IsRam && _readOnly;

    /// <summary>QEMU's <c>memory_region_is_romd</c>: a ROM device in romd mode.</summary>
    public bool IsRomd => IsRomDevice && _romdMode;

    /// <summary>Whether guest writes are rejected; on an alias or container this propagates to everything rendered through it.</summary>
    public bool ReadOnly => _readOnly;

    /// <summary>Whether the memory is non-volatile (NVDIMM); propagates like <see cref="ReadOnly"/>.</summary>
    public bool NonVolatile => _nonVolatile;

    /// <summary>Whether ranges rendered through this region must never be merged with neighbours (QEMU 8.2's virtio-mem flag).</summary>
    public bool Unmergeable => _unmergeable;

    /// <summary>ROM device mode: true (the default) reads memory directly; false sends every access to the callbacks.</summary>
    public bool RomdMode => _romdMode;

    /// <summary>Device callbacks (I/O regions and ROM devices); <see cref="MemoryRegionOps.Unassigned"/> for everything else.</summary>
    public MemoryRegionOps Ops { get; private set; } = MemoryRegionOps.Unassigned;

    /// <summary>
    /// Turns the re-entrancy guard off for this region (QEMU's <c>disable_reentrancy_guard</c>), for
    /// devices whose callbacks legitimately reach their own registers (for example through DMA into
    /// script RAM).
    /// </summary>
    public bool DisableReentrancyGuard { get; set; }

    private int _reentrancyWarned;

    /// <summary>QEMU's <c>warn_report_once</c> for a blocked re-entrant access.</summary>
    internal void WarnReentrancyOnce(ulong address)
    {
        if (Interlocked.Exchange(ref _reentrancyWarned, 1) == 0)
        {
            System.ReportWarning($"Blocked re-entrant IO on MemoryRegion: {Name} at addr: 0x{address:X}");
        }
    }

    /// <summary>Subregions in rendering order: priority descending, the most recently added first among equals.</summary>
    public IReadOnlyList<MemoryRegion> Subregions => _subregions.Ordered;

    /// <summary>Number of subregions.</summary>
    public int SubregionCount => _subregions.Count;

    /// <summary>The subregions in rendering order, for walks that stop early (no copy of the list is made).</summary>
    internal IEnumerable<MemoryRegion> SubregionsByRank => _subregions.ByRank;

    /// <summary>A number no other region of the memory system has (creation order).</summary>
    internal long Serial { get; }

    /// <summary>When the region was last attached to a container; orders equal-priority siblings (the most recent first).</summary>
    internal long AttachSequence { get; private set; }

    /// <summary>The start the container's index filed the region under.</summary>
    internal ulong IndexedStart { get; set; }

    /// <summary>The end the container's index filed the region under.</summary>
    internal UInt128 IndexedEnd { get; set; }

    /// <summary>The aliases whose target this region is (mapped or not).</summary>
    internal IReadOnlyList<MemoryRegion> AliasReferrers => (IReadOnlyList<MemoryRegion>?)_aliasReferrers ?? [];

    /// <summary>Adds the subregions whose extent overlaps [<paramref name="start"/>, <paramref name="end"/>) to <paramref name="into"/>, in no particular order.</summary>
    internal void SubregionsOverlapping(UInt128 start, UInt128 end, List<MemoryRegion> into) => _subregions.Overlapping(start, end, into);

    /// <summary>What the renderer keeps for this region between commits (its rendering in local coordinates), or null.</summary>
    internal object? RenderCache { get; set; }

    /// <summary>The region's ioeventfds, in QEMU's sort order.</summary>
    public IReadOnlyList<MemoryRegionIoeventfd> Ioeventfds => _ioeventfds;

    /// <summary>The dirty-log clients the region itself asked for (only <see cref="DirtyMemoryClient.Vga"/> can be set here).</summary>
    public byte OwnDirtyLogMask => _dirtyLogMask;

    /// <summary>Number of mapped aliases whose chain reaches this region (QEMU's <c>mapped_via_alias</c>).</summary>
    public int MappedViaAlias { get; private set; }

    /// <summary>QEMU's <c>memory_region_is_mapped</c>: in a container, or the target of a mapped alias.</summary>
    public bool IsMapped => Container is not null || MappedViaAlias > 0;

    /// <summary>Whether accesses to this region must first flush the coalesced MMIO buffer.</summary>
    public bool FlushCoalescedMmio { get; private set; }

    /// <summary>The coalesced MMIO ranges registered on the region (offsets inside it).</summary>
    public IReadOnlyList<CoalescedRange> CoalescedRanges => _coalesced;

    /// <summary>
    /// The dirty-log mask that applies to the region now (QEMU's <c>memory_region_get_dirty_log_mask</c>):
    /// its own VGA bit plus the migration bit while global dirty tracking is on and the region has
    /// migratable RAM.
    /// </summary>
    public byte DirtyLogMask => System.EffectiveDirtyLogMask(this);

    /// <summary>Whether the given client is logging this region (<c>memory_region_is_logging</c>).</summary>
    /// <param name="client">The dirty-memory client.</param>
    public bool IsLogging(DirtyMemoryClient client) => (DirtyLogMask & (1 << (int)client)) != 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} '{Name}'";

    // ------------------------------------------------------------------------------------------
    // Graph operations
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Maps <paramref name="subregion"/> at <paramref name="offset"/> with priority 0
    /// (<c>memory_region_add_subregion</c>).
    /// </summary>
    /// <param name="offset">Offset inside this region.</param>
    /// <param name="subregion">The region to map; it must not be in a container already.</param>
    public void AddSubregion(ulong offset, MemoryRegion subregion) => AddSubregion(offset, subregion, 0);

    /// <summary>
    /// Maps <paramref name="subregion"/> at <paramref name="offset"/> with a priority that decides
    /// which sibling is visible where they overlap (<c>memory_region_add_subregion_overlap</c>).
    /// Among equal priorities the most recently added region wins.
    /// </summary>
    /// <param name="offset">Offset inside this region.</param>
    /// <param name="subregion">The region to map; it must not be in a container already.</param>
    /// <param name="priority">Signed priority.</param>
    public void AddSubregion(ulong offset, MemoryRegion subregion, int priority)
    {
        ArgumentNullException.ThrowIfNull(subregion);
        using var tx = System.Transaction();
        CheckCanAdd(subregion);
        int oldPriority = subregion._priority;
        bool pending = System.SnapshotPending();
        subregion._priority = priority;
        AttachSubregion(offset, subregion);
        if (Reaches(subregion, this))
        {
            System.AliasCycleSeen = true;
            // An alias inside 'subregion' leads back here. QEMU allows that (Arm's SSE maps aliases of
            // a container inside it) as long as each round shrinks the window to nothing.
            EnsureRenderable(() =>
            {
                DetachSubregion(subregion);
                subregion._priority = oldPriority;
                System.RestorePending(pending);
            }, $"cannot add '{subregion.Name}' to '{Name}'");
        }
        System.NotifyRegionChanged(subregion, $"memory_region_add_subregion{(priority != 0 ? "_overlap" : "")} '{subregion.Name}' into '{Name}' at 0x{offset:x}{(priority != 0 ? $" prio {priority}" : "")}{(subregion._enabled ? "" : " (disabled)")}");
    }

    /// <summary>Unmaps <paramref name="subregion"/> from this container (<c>memory_region_del_subregion</c>).</summary>
    /// <param name="subregion">A subregion of this region.</param>
    public void RemoveSubregion(MemoryRegion subregion)
    {
        ArgumentNullException.ThrowIfNull(subregion);
        using var tx = System.Transaction();
        if (subregion.Container != this)
        {
            throw new MemoryTopologyException(subregion.Container is null
                ? $"cannot remove '{subregion.Name}' from '{Name}': it is not mapped in any container"
                : $"cannot remove '{subregion.Name}' from '{Name}': it is a subregion of '{subregion.Container.Name}'");
        }
        DetachSubregion(subregion);
        System.NotifyRegionChanged(subregion, $"memory_region_del_subregion '{subregion.Name}' from '{Name}'");
    }

    /// <summary>
    /// Moves the region inside its container (<c>memory_region_set_address</c>). The region keeps its
    /// priority and becomes the most recent among siblings of equal priority, as in QEMU.
    /// </summary>
    /// <param name="address">New offset inside the container.</param>
    public void SetAddress(ulong address)
    {
        using var tx = System.Transaction();
        if (address == _address)
        {
            return;
        }
        ulong old = _address;
        bool pending = System.SnapshotPending();
        Move(address);
        EnsureRenderableIfCyclic(() =>
        {
            Move(old);
            System.RestorePending(pending);
        }, $"cannot move '{Name}' to 0x{address:x}");
        System.NotifyRegionChanged(this, $"memory_region_set_address '{Name}' 0x{old:x} -> 0x{address:x}");

        void Move(ulong to)
        {
            if (Container is { } container)
            {
                container.DetachSubregion(this);
                container.AttachSubregion(to, this);
            }
            else
            {
                _address = to;
            }
        }
    }

    /// <summary>Enables or disables the region (<c>memory_region_set_enabled</c>); a disabled region and everything under it renders nothing.</summary>
    /// <param name="enabled">The new state.</param>
    public void SetEnabled(bool enabled)
    {
        using var tx = System.Transaction();
        if (enabled == _enabled)
        {
            return;
        }
        bool pending = System.SnapshotPending();
        _enabled = enabled;
        System.MarkTopologyChanged(true);
        System.RecordChange(this, 0, _size, content: false);
        if (enabled)
        {
            EnsureRenderableIfCyclic(() =>
            {
                _enabled = false;
                System.RestorePending(pending);
            }, $"cannot enable '{Name}'");
        }
        System.NotifyRegionChanged(this, $"memory_region_set_enabled '{Name}' {(enabled ? "on" : "off")}");
    }

    /// <summary>Changes the size (<c>memory_region_set_size</c>); <see cref="ulong.MaxValue"/> means 2^64.</summary>
    /// <param name="size">The new size, at most 2^64.</param>
    public void SetSize(UInt128 size)
    {
        UInt128 s = NormalizeSize(size, nameof(size));
        using var tx = System.Transaction();
        if (RamBlock is { } block && s > block.UsedLength)
        {
            throw new RamBlockException($"cannot make '{Name}' 0x{s:x} bytes: its RAMBlock has 0x{block.UsedLength:x} in use; use RamResize");
        }
        SetSizeInternal(s);
    }

    private void SetSizeInternal(UInt128 s)
    {
        if (s == _size)
        {
            return;
        }
        UInt128 old = _size;
        bool pending = System.SnapshotPending();
        System.RecordChange(this, 0, UInt128.Max(old, s));
        if (Container is { } container)
        {
            container.RecordChildExtent(this, UInt128.Max(old, s));
        }
        _size = s;
        Container?._subregions.Reindex(this);
        System.MarkTopologyChanged(true);
        if (s > old)
        {
            EnsureRenderableIfCyclic(() =>
            {
                _size = old;
                System.RestorePending(pending);
            }, $"cannot resize '{Name}'");
        }
    }

    /// <summary>Moves an alias's window inside its target (<c>memory_region_set_alias_offset</c>).</summary>
    /// <param name="offset">New offset inside the target.</param>
    public void SetAliasOffset(ulong offset)
    {
        using var tx = System.Transaction();
        if (!IsAlias)
        {
            throw new MemoryTopologyException($"cannot set the alias offset of '{Name}': it is not an alias");
        }
        if (offset == _aliasOffset)
        {
            return;
        }
        ulong old = _aliasOffset;
        bool pending = System.SnapshotPending();
        _aliasOffset = offset;
        System.RecordChange(this, 0, _size);
        System.MarkTopologyChanged(_enabled);
        EnsureRenderableIfCyclic(() =>
        {
            _aliasOffset = old;
            System.RestorePending(pending);
        }, $"cannot set the alias offset of '{Name}' to 0x{offset:x}");
    }

    /// <summary>Makes the region read-only or writable (<c>memory_region_set_readonly</c>); on RAM this turns it into ROM.</summary>
    /// <param name="readOnly">The new state.</param>
    public void SetReadOnly(bool readOnly)
    {
        using var tx = System.Transaction();
        if (readOnly == _readOnly)
        {
            return;
        }
        _readOnly = readOnly;
        System.RecordChange(this, 0, _size);
        System.MarkTopologyChanged(_enabled);
    }

    /// <summary>Marks the region non-volatile (<c>memory_region_set_nonvolatile</c>).</summary>
    /// <param name="nonVolatile">The new state.</param>
    public void SetNonVolatile(bool nonVolatile)
    {
        using var tx = System.Transaction();
        if (nonVolatile == _nonVolatile)
        {
            return;
        }
        _nonVolatile = nonVolatile;
        System.RecordChange(this, 0, _size);
        System.MarkTopologyChanged(_enabled);
    }

    /// <summary>Forbids or allows merging ranges rendered through this region (<c>memory_region_set_unmergeable</c>).</summary>
    /// <param name="unmergeable">The new state.</param>
    public void SetUnmergeable(bool unmergeable)
    {
        using var tx = System.Transaction();
        if (unmergeable == _unmergeable)
        {
            return;
        }
        _unmergeable = unmergeable;
        System.RecordChange(this, 0, _size);
        System.MarkTopologyChanged(_enabled);
    }

    /// <summary>Switches a ROM device between romd mode and MMIO mode (<c>memory_region_rom_device_set_romd</c>).</summary>
    /// <param name="romdMode">True: reads go straight to memory; false: every access goes to the callbacks.</param>
    public void SetRomd(bool romdMode)
    {
        using var tx = System.Transaction();
        if (!IsRomDevice)
        {
            throw new MemoryTopologyException($"cannot set romd mode on '{Name}': it is not a ROM device");
        }
        if (romdMode == _romdMode)
        {
            return;
        }
        _romdMode = romdMode;
        System.RecordChange(this, 0, _size);
        System.MarkTopologyChanged(_enabled);
    }

    /// <summary>
    /// Starts or stops dirty logging for a client (<c>memory_region_set_log</c>). Calls are counted:
    /// only the first start and the last stop change the region's mask.
    /// </summary>
    /// <param name="log">Start (true) or stop (false) logging.</param>
    /// <param name="client">Must be <see cref="DirtyMemoryClient.Vga"/>; the other clients are global.</param>
    public void SetLog(bool log, DirtyMemoryClient client)
    {
        if (client != DirtyMemoryClient.Vga)
        {
            throw new ArgumentOutOfRangeException(nameof(client), client, "only the VGA client can be logged per region; migration logging is global (MemorySystem.GlobalDirtyLogStart)");
        }
        using var tx = System.Transaction();
        if (!log && _vgaLoggingCount == 0)
        {
            throw new MemoryTopologyException($"cannot stop VGA logging on '{Name}': it was not started");
        }
        int old = _vgaLoggingCount;
        _vgaLoggingCount += log ? 1 : -1;
        if ((old != 0) == (_vgaLoggingCount != 0))
        {
            return;
        }
        byte mask = 1 << (int)DirtyMemoryClient.Vga;
        _dirtyLogMask = (byte)((_dirtyLogMask & ~mask) | (log ? mask : 0));
        System.RecordChange(this, 0, _size);
        System.MarkTopologyChanged(_enabled);
    }

    /// <summary>
    /// Adds an ioeventfd (<c>memory_region_add_eventfd</c>). <paramref name="data"/> is given in the
    /// target's (little-endian) order and stored in the device's order.
    /// </summary>
    /// <param name="address">Offset inside the region.</param>
    /// <param name="size">Access width (0: any width).</param>
    /// <param name="matchData">Whether only writes of <paramref name="data"/> match.</param>
    /// <param name="data">Value to match.</param>
    /// <param name="notifier">What is signalled.</param>
    public void AddEventfd(ulong address, uint size, bool matchData, ulong data, EventNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        CheckEventfdSize(size);
        var fd = new MemoryRegionIoeventfd(address, size, matchData, ToDeviceOrder(data, size), notifier);
        using var tx = System.Transaction();
        int i = 0;
        while (i < _ioeventfds.Count && !MemoryRegionIoeventfd.Before(fd, _ioeventfds[i]))
        {
            i++;
        }
        _ioeventfds.Insert(i, fd);
        System.MarkIoeventfdsChanged(_enabled);
    }

    /// <summary>Removes an ioeventfd added with the same arguments (<c>memory_region_del_eventfd</c>).</summary>
    /// <param name="address">Offset inside the region.</param>
    /// <param name="size">Access width (0: any width).</param>
    /// <param name="matchData">Whether only writes of <paramref name="data"/> match.</param>
    /// <param name="data">Value to match.</param>
    /// <param name="notifier">What is signalled.</param>
    public void RemoveEventfd(ulong address, uint size, bool matchData, ulong data, EventNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        CheckEventfdSize(size);
        var fd = new MemoryRegionIoeventfd(address, size, matchData, ToDeviceOrder(data, size), notifier);
        using var tx = System.Transaction();
        int i = _ioeventfds.FindIndex(e => MemoryRegionIoeventfd.Matches(fd, e));
        if (i < 0)
        {
            throw new MemoryTopologyException($"'{Name}' has no ioeventfd at 0x{address:x} size {size} for {notifier}");
        }
        _ioeventfds.RemoveAt(i);
        System.MarkIoeventfdsChanged(_enabled);
    }

    /// <summary>
    /// Registers a coalesced MMIO range (<c>memory_region_add_coalescing</c>); listeners are told at
    /// once for every place the region is rendered.
    /// </summary>
    /// <param name="offset">Offset inside the region.</param>
    /// <param name="size">Size of the range.</param>
    public void AddCoalescing(ulong offset, ulong size)
    {
        var range = new CoalescedRange(offset, size);
        lock (System.TopologyLock)
        {
            _coalesced.Add(range);
            System.CoalescedRangeChanged(this, range, add: true);
            FlushCoalescedMmio = true;
        }
    }

    /// <summary>Makes the whole region coalesced (<c>memory_region_set_coalescing</c>).</summary>
    public void SetCoalescing()
    {
        lock (System.TopologyLock)
        {
            ClearCoalescing();
            AddCoalescing(0, (ulong)_size);
        }
    }

    /// <summary>Removes every coalesced range (<c>memory_region_clear_coalescing</c>).</summary>
    public void ClearCoalescing()
    {
        lock (System.TopologyLock)
        {
            if (_coalesced.Count == 0)
            {
                return;
            }
            FlushCoalescedMmio = false;
            while (_coalesced.Count > 0)
            {
                CoalescedRange range = _coalesced[0];
                _coalesced.RemoveAt(0);
                System.CoalescedRangeChanged(this, range, add: false);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    /// <summary>Whether the region has RAM that migration would copy (QEMU: a RAMBlock registered with vmstate).</summary>
    internal bool HasMigratableRam => RamBlock is { Migratable: true };

    private static UInt128 NormalizeSize(UInt128 size, string paramName)
    {
        if (size == ulong.MaxValue)
        {
            return Size2To64;
        }
        if (size > Size2To64)
        {
            throw new ArgumentOutOfRangeException(paramName, size, "a region is at most 2^64 bytes");
        }
        return size;
    }

    private static void CheckEventfdSize(uint size)
    {
        if (size is not (0 or 1 or 2 or 4 or 8))
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "an ioeventfd width is 0 (any), 1, 2, 4 or 8 bytes");
        }
    }

    private ulong ToDeviceOrder(ulong data, uint size)
    {
        // Data comes in target order (little-endian on the targets modelled here) and is stored in
        // device order, as memory_region_add_eventfd does.
        if (Ops.Endianness != DeviceEndianness.Big)
        {
            return data;
        }
        return size switch
        {
            2 => global::System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)data),
            4 => global::System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)data),
            8 => global::System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(data),
            _ => data,
        };
    }

    private void CheckCanAdd(MemoryRegion subregion)
    {
        CheckNotDestroyed();
        subregion.CheckNotDestroyed();
        if (subregion.System != System)
        {
            throw new MemoryTopologyException($"cannot add '{subregion.Name}' to '{Name}': they belong to different memory systems");
        }
        if (IsAlias)
        {
            throw new MemoryTopologyException($"cannot add '{subregion.Name}' to '{Name}': '{Name}' is an alias, and aliases cannot have subregions");
        }
        if (subregion.Container is { } current)
        {
            throw new MemoryTopologyException($"cannot add '{subregion.Name}' to '{Name}': it is already a subregion of '{current.Name}'");
        }
        for (MemoryRegion? c = this; c is not null; c = c.Container)
        {
            if (c == subregion)
            {
                throw new MemoryTopologyException(subregion == this
                    ? $"cannot add '{Name}' to itself"
                    : $"cannot add '{subregion.Name}' to '{Name}': '{Name}' is inside '{subregion.Name}', so the region would contain itself");
            }
        }
    }

    /// <summary>
    /// After a change that may have closed or widened a cycle through this region: undoes it with
    /// <paramref name="revert"/> and throws if rendering through the cycle would never end.
    /// </summary>
    private void EnsureRenderableIfCyclic(Action revert, string what)
    {
        bool onCycle = (AliasTarget is { } t && Reaches(t, this)) || _subregions.Ordered.Any(sub => Reaches(sub, this));
        if (onCycle)
        {
            System.AliasCycleSeen = true;
            EnsureRenderable(revert, what);
        }
    }

    private void EnsureRenderable(Action revert, string what)
    {
        if (System.WhyUnrenderable(this) is { } reason)
        {
            revert();
            throw new MemoryTopologyException($"{what}: {reason}");
        }
    }

    /// <summary>Whether <paramref name="target"/> is reachable from <paramref name="from"/> through subregion and alias edges.</summary>
    private static bool Reaches(MemoryRegion from, MemoryRegion target)
    {
        var visited = new HashSet<MemoryRegion>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<MemoryRegion>();
        stack.Push(from);
        while (stack.Count > 0)
        {
            MemoryRegion mr = stack.Pop();
            if (mr == target)
            {
                return true;
            }
            if (!visited.Add(mr))
            {
                continue;
            }
            if (mr.AliasTarget is { } t)
            {
                stack.Push(t);
            }
            foreach (MemoryRegion child in mr._subregions.Ordered)
            {
                stack.Push(child);
            }
        }
        return false;
    }

    private void AttachSubregion(ulong offset, MemoryRegion subregion)
    {
        subregion.Container = this;
        for (MemoryRegion? alias = subregion.AliasTarget; alias is not null; alias = alias.AliasTarget)
        {
            alias.MappedViaAlias++;
        }
        subregion._address = offset;
        subregion.AttachSequence = System.NextAttachSequence();
        _subregions.Add(subregion);
        RecordChildExtent(subregion, subregion._size);
        System.MarkTopologyChanged(_enabled && subregion._enabled);
    }

    /// <summary>Notes that this container's rendering may differ where <paramref name="child"/> sits (over <paramref name="size"/> bytes).</summary>
    private void RecordChildExtent(MemoryRegion child, UInt128 size)
        => System.RecordChange(this, child._address, UInt128.Min((UInt128)child._address + size, _size));

    private void DetachSubregion(MemoryRegion subregion)
    {
        subregion.Container = null;
        for (MemoryRegion? alias = subregion.AliasTarget; alias is not null; alias = alias.AliasTarget)
        {
            alias.MappedViaAlias--;
        }
        RecordChildExtent(subregion, subregion._size);
        _subregions.Remove(subregion);
        System.MarkTopologyChanged(_enabled && subregion._enabled);
    }
}
