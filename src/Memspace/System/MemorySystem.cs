using Memspace.Core;
using Memspace.Dispatch;
using Memspace.Listeners;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace;

/// <summary>
/// The memory system of one machine: its address spaces, listeners and rendered views, and the one
/// place where a commit is carried out. It holds what QEMU keeps in globals (<c>address_spaces</c>,
/// <c>memory_listeners</c>, <c>flat_views</c>); the region graph's lock and transaction state come
/// from <see cref="RegionGraph"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every change to the region graph runs under the topology lock (QEMU's BQL plays this role) and
/// inside a transaction. Transactions nest; only the outermost commit renders new
/// <see cref="FlatView"/>s, one per distinct physical root, builds their dispatch tables, diffs them
/// for listeners and publishes them. A commit with nothing pending does nothing at all.
/// </para>
/// <para>
/// Readers of <see cref="AddressSpace.CurrentMap"/> take no lock: views are immutable and published
/// atomically.
/// </para>
/// </remarks>
public sealed class MemorySystem : RegionGraph, IDisposable
{
    private readonly List<AddressSpace> _addressSpaces = [];
    private readonly List<MemoryListener> _listeners = [];
    private readonly Dictionary<MemoryListener, AddressSpace> _registrations = new(ReferenceEqualityComparer.Instance);
    private readonly DispatchTable _empty;
    private readonly IncrementalRenderer _incremental;
    private Dictionary<MemoryRegion, DispatchTable> _flatViews = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<DispatchTable, (DispatchTable Previous, List<(UInt128 Start, UInt128 End)> Spans)> _derived = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<FlatView, MemoryRegionIoeventfd[]> _ioeventfdsThisCommit = new(ReferenceEqualityComparer.Instance);
    private readonly ListenerFailures _failures = new();
    private long _generation;

    /// <summary>Creates an empty memory system.</summary>
    /// <param name="options">Behaviour switches; null for the defaults.</param>
    public MemorySystem(MemorySystemOptions? options = null)
        : base(Validate(options ?? new MemorySystemOptions()).TargetPageBits, (options ?? new MemorySystemOptions()).AllocateRam)
    {
        Options = options ?? new MemorySystemOptions();
        _empty = new DispatchTable(new FlatView(null, RangeTree.Empty, 0), Options.HonourSectionReadOnly);
        _incremental = new IncrementalRenderer(EffectiveDirtyLogMask);
    }

    /// <summary>Whether commits render incrementally now (the option, unless an alias cycle ever existed).</summary>
    private bool Incremental => Options.IncrementalRendering && !AliasCycleSeen;

    private static MemorySystemOptions Validate(MemorySystemOptions options)
    {
        if (options.TargetPageBits is < 10 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TargetPageBits, "TargetPageBits is between 10 (1 KiB pages) and 16");
        }
        return options;
    }

    /// <summary>Behaviour switches.</summary>
    public MemorySystemOptions Options { get; }

    /// <summary>The address spaces, in creation order.</summary>
    public IReadOnlyList<AddressSpace> AddressSpaces => _addressSpaces;

    /// <summary>All registered listeners, in ascending priority order.</summary>
    public IReadOnlyList<MemoryListener> Listeners => _listeners;

    /// <summary>The shared view of every address space whose root renders nothing.</summary>
    public FlatView EmptyFlatView => _empty.View;

    /// <summary>Number of topology commits so far (a commit that changed nothing is not counted).</summary>
    public long CommitCount { get; private set; }

    /// <summary>Time spent in topology commits so far: rendering, diffs, listener callbacks and publishing.</summary>
    public TimeSpan CommitTime => TimeSpan.FromTicks((long)(_commitTicks * ((double)TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency)));

    private long _commitTicks;

    /// <summary>
    /// Raised at the end of every outermost commit that changed the topology, after the listeners'
    /// <c>commit</c> callbacks, with <see cref="CommitCount"/>. Handlers run under the topology lock and
    /// must not change the topology.
    /// </summary>
    public event Action<long>? TopologyCommitted;

    /// <summary>
    /// The accelerator asked by <c>info mtree -f</c> which ranges it maps directly (QEMU's
    /// <c>has_memory</c>); null without one.
    /// </summary>
    public IMemoryAccelerator? Accelerator { get; set; }

    /// <summary>The address space <paramref name="listener"/> is registered with, or null.</summary>
    /// <param name="listener">A listener.</param>
    public AddressSpace? AddressSpaceOf(MemoryListener listener)
    {
        lock (TopologyLock)
        {
            return _registrations.GetValueOrDefault(listener);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Address spaces
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Creates an address space rooted at <paramref name="root"/> (<c>address_space_init</c>). Its view
    /// is rendered (or shared) at once; there are no listeners yet, so nobody is told.
    /// </summary>
    /// <param name="root">The root region.</param>
    /// <param name="name">Name shown by <c>info mtree</c>; QEMU's default is "anonymous".</param>
    public AddressSpace CreateAddressSpace(MemoryRegion root, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (root.System != this)
        {
            throw new MemoryTopologyException($"cannot create address space '{name}': root '{root.Name}' belongs to another memory system");
        }
        lock (TopologyLock)
        {
            CheckNotCommitting();
            var space = new AddressSpace(this, root, name ?? "anonymous");
            _addressSpaces.Add(space);
            MemoryRegion? physRoot = GetFlatViewRoot(root);
            if (physRoot is not null && !_flatViews.ContainsKey(physRoot))
            {
                if (Incremental)
                {
                    // Bring cached renderings up to date first: the new view is built from them.
                    RenderViews(TakeChanges());
                }
                if (!_flatViews.ContainsKey(physRoot))
                {
                    _flatViews[physRoot] = Render(physRoot);
                }
            }
            SetFlatView(space);
            UpdateIoeventfds(space, force: false);
            _derived.Clear();
            _ioeventfdsThisCommit.Clear();
            _failures.ThrowIfAny();
            return space;
        }
    }

    internal void RemoveAddressSpace(AddressSpace space)
    {
        lock (TopologyLock)
        {
            CheckNotCommitting();
            if (space.Listeners.Count > 0)
            {
                throw new InvalidOperationException($"cannot destroy address space '{space.Name}': {space.Listeners.Count} listener(s) are still registered");
            }
            _addressSpaces.Remove(space);
        }
    }

    /// <summary>The first address space whose root is <paramref name="root"/>.</summary>
    internal AddressSpace? AddressSpaceWithRoot(MemoryRegion root)
    {
        foreach (AddressSpace space in _addressSpaces)
        {
            if (space.Root == root)
            {
                return space;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------
    // Commit
    // ------------------------------------------------------------------------------------------

    internal override void Commit(bool topology, bool ioeventfds)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            if (topology)
            {
                CommitCount++;
                MemspaceEventSource.Log.Commit();
                _rootSearchMemo = new Dictionary<MemoryRegion, MemoryRegion?>(ReferenceEqualityComparer.Instance);
                RenderViews(TakeChanges());
                foreach (MemoryListener l in _listeners)
                {
                    ListenerReplay.Call(l, "begin", _failures, static l => l.Begin());
                }
                foreach (AddressSpace space in _addressSpaces)
                {
                    SetFlatView(space);
                    UpdateIoeventfds(space, ioeventfds);
                }
                foreach (MemoryListener l in _listeners)
                {
                    ListenerReplay.Call(l, "commit", _failures, static l => l.Commit());
                }
                TopologyCommitted?.Invoke(CommitCount);
            }
            else
            {
                foreach (AddressSpace space in _addressSpaces)
                {
                    UpdateIoeventfds(space, force: true);
                }
            }
        }
        finally
        {
            _rootSearchMemo = null;
            _derived.Clear();
            _ioeventfdsThisCommit.Clear();
            if (topology)
            {
                _commitTicks += System.Diagnostics.Stopwatch.GetTimestamp() - started;
            }
        }
        _failures.ThrowIfAny();
    }

    // ------------------------------------------------------------------------------------------
    // Rendering
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// The region whose rendering an address space rooted at <paramref name="root"/> uses
    /// (<c>memory_region_get_flatview_root</c>): full aliases at offset 0 and containers with a single
    /// enabled child at 0 are looked through, so that address spaces share views. Null means the
    /// view is empty.
    /// </summary>
    /// <remarks>
    /// QEMU 7.2 also looks through an alias or container that is read-only, non-volatile or
    /// unmergeable, and so loses that flag: a read-only alias of RAM as an address space root renders
    /// as writable RAM. Memspace stops at such a region unless
    /// <see cref="MemorySystemOptions.FlatViewRootIgnoresFlags"/> asks for QEMU's behaviour.
    /// </remarks>
    /// <param name="root">An address space root.</param>
    public MemoryRegion? GetFlatViewRoot(MemoryRegion? root)
    {
        // Inside a commit the answer from each big container is remembered: thousands of bus-master
        // address spaces all lead to system memory, whose children would otherwise be walked once each.
        List<MemoryRegion>? bigContainers = null;
        MemoryRegion? result = FlatViewRootFrom(root, ref bigContainers);
        if (bigContainers is not null && _rootSearchMemo is { } memo)
        {
            foreach (MemoryRegion big in bigContainers)
            {
                memo[big] = result;
            }
        }
        return result;
    }

    private MemoryRegion? FlatViewRootFrom(MemoryRegion? root, ref List<MemoryRegion>? bigContainers)
    {
        bool ignoreFlags = Options.FlatViewRootIgnoresFlags;
        MemoryRegion? mr = root;
        int steps = 0;
        while (mr is not null && mr.Enabled)
        {
            if (++steps > FlatViewRenderer.MaxDepth)
            {
                // Only empty regions can chain back to themselves here (anything else would never
                // finish rendering and is refused); stop and render from where we are.
                return mr;
            }
            if (!ignoreFlags && (mr.ReadOnly || mr.NonVolatile || mr.Unmergeable))
            {
                return mr;
            }
            if (mr.AliasTarget is { } target)
            {
                if (mr.AliasOffset == 0 && mr.Size >= target.Size)
                {
                    mr = target;
                    continue;
                }
            }
            else if (!mr.Terminates)
            {
                int found = 0;
                MemoryRegion? next = null;
                // A small container's children are a cached array (no enumerator to allocate: a
                // commit asks this of every address space, thousands of bus-master containers
                // among them); a big one's are walked in rank order until two are found enabled.
                if (mr.SubregionCount <= SmallContainer)
                {
                    foreach (MemoryRegion child in (MemoryRegion[])mr.Subregions)
                    {
                        if (OnlyEnabledChildAtZero(mr, child, ref found, ref next))
                        {
                            break;
                        }
                    }
                }
                else
                {
                    if (_rootSearchMemo is { } memo)
                    {
                        if (memo.TryGetValue(mr, out MemoryRegion? known))
                        {
                            return known;
                        }
                        (bigContainers ??= []).Add(mr);
                    }
                    foreach (MemoryRegion child in mr.SubregionsByRank)
                    {
                        if (OnlyEnabledChildAtZero(mr, child, ref found, ref next))
                        {
                            break;
                        }
                    }
                }
                if (found == 0)
                {
                    return null;
                }
                if (next is not null)
                {
                    mr = next;
                    continue;
                }
            }
            return mr;
        }
        return null;
    }

    private const int SmallContainer = 8;

    // The flat-view root found from each big container, during one commit (null outside commits).
    private Dictionary<MemoryRegion, MemoryRegion?>? _rootSearchMemo;

    /// <summary>One step of the flat-view root search over a container's children: counts enabled children and keeps one at address 0 that covers the container; true when a second enabled child ends the search.</summary>
    private static bool OnlyEnabledChildAtZero(MemoryRegion container, MemoryRegion child, ref int found, ref MemoryRegion? next)
    {
        if (!child.Enabled)
        {
            return false;
        }
        if (++found > 1)
        {
            next = null;
            return true;
        }
        if (child.Address == 0 && container.Size >= child.Size)
        {
            next = child;
        }
        return false;
    }

    /// <summary>A view of <paramref name="physRoot"/> rendered from scratch (by parts when rendering incrementally).</summary>
    private DispatchTable Render(MemoryRegion physRoot)
    {
        RangeTree tree;
        if (Incremental)
        {
            tree = Shifted(_incremental.Rendering(physRoot), physRoot.Address);
        }
        else
        {
            FlatRange[] ranges = FlatViewRenderer.Render(physRoot, EffectiveDirtyLogMask);
            var local = new LocalRange[ranges.Length];
            for (int i = 0; i < ranges.Length; i++)
            {
                local[i] = new LocalRange(ranges[i], 0);
            }
            tree = RangeTree.Build(local);
        }
        MemspaceEventSource.Log.Render();
        return new DispatchTable(new FlatView(physRoot, tree, ++_generation), Options.HonourSectionReadOnly);
    }

    /// <summary>
    /// A root's rendering as its view: QEMU starts the walk at the root's own address in its container,
    /// so a root mapped at a non-zero address renders moved up by it (clipped at 2^64).
    /// </summary>
    private static RangeTree Shifted(RangeTree rendering, ulong address)
    {
        if (address == 0)
        {
            return rendering;
        }
        var moved = new List<LocalRange>(rendering.Count);
        foreach (LocalRange r in rendering.Enumerate())
        {
            UInt128 start = (UInt128)r.Range.Start + address;
            UInt128 end = UInt128.Min(r.Range.End + address, MemoryRegion.Size2To64);
            if (start < end)
            {
                moved.Add(new LocalRange(r.Range with { Start = (ulong)start, Size = end - start }, r.Piece));
            }
        }
        return RangeTree.Build([.. moved]);
    }

    /// <summary>
    /// Renders the view of every physical root in use (QEMU's <c>flatviews_reset</c>). Incrementally: brings
    /// the cached renderings up to date with <paramref name="changes"/>, keeps the view of every root they
    /// did not touch, and remembers for each new view the intervals where it differs from the previous one.
    /// </summary>
    private void RenderViews(List<RegionChange> changes)
    {
        var roots = new List<MemoryRegion>();
        var seen = new HashSet<MemoryRegion>(ReferenceEqualityComparer.Instance);
        foreach (AddressSpace space in _addressSpaces)
        {
            if (GetFlatViewRoot(space.Root) is { } physRoot && seen.Add(physRoot))
            {
                roots.Add(physRoot);
            }
        }
        var views = new Dictionary<MemoryRegion, DispatchTable>(ReferenceEqualityComparer.Instance);
        if (!Incremental)
        {
            foreach (MemoryRegion physRoot in roots)
            {
                views[physRoot] = Render(physRoot);
            }
            _flatViews = views;
            return;
        }
        if (RenderingInvalidated)
        {
            _incremental.InvalidateAll();
            RenderingInvalidated = false;
        }
        var before = new Dictionary<MemoryRegion, RangeTree?>(ReferenceEqualityComparer.Instance);
        foreach (MemoryRegion physRoot in roots)
        {
            before[physRoot] = _incremental.CachedRendering(physRoot);
        }
        Dictionary<MemoryRegion, List<(UInt128 Start, UInt128 End)>> spans = _incremental.Update(changes, roots);
        foreach (MemoryRegion physRoot in roots)
        {
            DispatchTable? old = _flatViews.GetValueOrDefault(physRoot);
            RangeTree rendering = _incremental.Rendering(physRoot);
            bool unshifted = physRoot.Address == 0;
            if (old is not null && unshifted && old.View.Tree == rendering)
            {
                views[physRoot] = old;
                continue;
            }
            MemspaceEventSource.Log.Render();
            var table = new DispatchTable(new FlatView(physRoot, Shifted(rendering, physRoot.Address), ++_generation), Options.HonourSectionReadOnly);
            views[physRoot] = table;
            if (old is not null && unshifted && before[physRoot] is { } was && old.View.Tree == was
                && spans.TryGetValue(physRoot, out List<(UInt128 Start, UInt128 End)>? changed))
            {
                _derived[table] = (old, Merge(changed));
            }
        }
        _flatViews = views;
    }

    /// <summary>Sorts and merges intervals.</summary>
    private static List<(UInt128 Start, UInt128 End)> Merge(List<(UInt128 Start, UInt128 End)> spans)
    {
        spans.Sort((x, y) => x.Start.CompareTo(y.Start));
        var merged = new List<(UInt128 Start, UInt128 End)>(spans.Count);
        foreach ((UInt128 s, UInt128 e) in spans)
        {
            if (merged.Count > 0 && s <= merged[^1].End)
            {
                merged[^1] = (merged[^1].Start, UInt128.Max(merged[^1].End, e));
            }
            else
            {
                merged.Add((s, e));
            }
        }
        return merged;
    }

    private void SetFlatView(AddressSpace space)
    {
        DispatchTable? old = space.DispatchOrNull;
        MemoryRegion? physRoot = GetFlatViewRoot(space.Root);
        DispatchTable next = physRoot is null ? _empty : _flatViews[physRoot];
        List<MemoryListener> listeners = space.ListenerList;
        if (old == next)
        {
            // The commit left this view as it was. QEMU would have rendered an identical new view and
            // told listeners that take region_nop about every range; do the same for them.
            if (old.View.Count > 0 && listeners.Any(l => l.ImplementsRegionNop))
            {
                TopologyDiff.Report(listeners, old.View, old.View, _failures);
            }
            return;
        }
        if (listeners.Count > 0)
        {
            if (old is not null && _derived.TryGetValue(next, out var derived) && derived.Previous == old && !listeners.Any(l => l.ImplementsRegionNop))
            {
                TopologyDiff.ReportSpans(listeners, old.View, next.View, derived.Spans, _failures);
            }
            else
            {
                TopologyDiff.Report(listeners, (old ?? _empty).View, next.View, _failures);
            }
        }
        space.Publish(next);
    }

    /// <summary>
    /// QEMU's <c>address_space_update_ioeventfds</c>. The ioeventfds of a view are collected once per
    /// commit; a view derived from the previous one reuses its list when no changed interval holds a
    /// region with ioeventfds, unless <paramref name="force"/> (some region's ioeventfds changed).
    /// </summary>
    private void UpdateIoeventfds(AddressSpace space, bool force)
    {
        FlatView view = space.CurrentMap;
        if (!_ioeventfdsThisCommit.TryGetValue(view, out MemoryRegionIoeventfd[]? next))
        {
            next = !force && ReusableIoeventfds(space.Dispatch) is { } reused ? reused : IoeventfdDiff.Collect(view);
            _ioeventfdsThisCommit[view] = next;
            view.Ioeventfds = next;
        }
        if (!ReferenceEquals(next, space.IoeventfdArray))
        {
            IoeventfdDiff.Report(space.ListenerList, view, space.IoeventfdArray, next, _failures);
            space.IoeventfdArray = next;
        }
    }

    /// <summary>The ioeventfd list of the view <paramref name="table"/> was derived from, if the changed intervals hold none.</summary>
    private MemoryRegionIoeventfd[]? ReusableIoeventfds(DispatchTable table)
    {
        if (table.View.Ioeventfds is { } own)
        {
            return own;
        }
        if (!_derived.TryGetValue(table, out var derived) || derived.Previous.View.Ioeventfds is not { } previous)
        {
            return null;
        }
        foreach ((UInt128 start, UInt128 end) in derived.Spans)
        {
            if (HasIoeventfds(derived.Previous.View, start, end) || HasIoeventfds(table.View, start, end))
            {
                return null;
            }
        }
        return previous;
    }

    private static bool HasIoeventfds(FlatView view, UInt128 start, UInt128 end)
    {
        int i = start > ulong.MaxValue ? view.Count : view.Tree.FirstEndingAbove((ulong)start);
        foreach (LocalRange r in view.Tree.Enumerate(i))
        {
            if (r.Range.Start >= end)
            {
                return false;
            }
            if (r.Range.Region.Ioeventfds.Count > 0)
            {
                return true;
            }
        }
        return false;
    }

    internal override string? WhyUnrenderable(MemoryRegion from)
        => FlatViewRenderer.Terminates(from, out string reason) ? null : reason;

    internal override string? AddressSpaceRootedAt(MemoryRegion mr) => AddressSpaceWithRoot(mr)?.Name;

    // ------------------------------------------------------------------------------------------
    // Listeners
    // ------------------------------------------------------------------------------------------

    internal void Register(MemoryListener listener, AddressSpace space)
    {
        lock (TopologyLock)
        {
            CheckNotCommitting();
            if (_registrations.TryGetValue(listener, out AddressSpace? current))
            {
                throw new InvalidOperationException($"listener '{listener.Name}' is already registered with address space '{current.Name}'");
            }
            if (!_addressSpaces.Contains(space))
            {
                throw new InvalidOperationException($"address space '{space.Name}' has been destroyed");
            }
            _registrations[listener] = space;
            InsertByPriority(_listeners, listener);
            InsertByPriority(space.ListenerList, listener);
            RunCommitting(() => ListenerReplay.Add(listener, space.CurrentMap, space.IoeventfdArray,
                GlobalDirtyTracking != GlobalDirtyFlags.None, Options.ReplayIoeventfdsAndCoalescing, _failures));
            _failures.ThrowIfAny();
        }
    }

    internal void Unregister(MemoryListener listener, AddressSpace space)
    {
        lock (TopologyLock)
        {
            CheckNotCommitting();
            if (!_registrations.TryGetValue(listener, out AddressSpace? current))
            {
                return;
            }
            if (current != space)
            {
                throw new InvalidOperationException($"listener '{listener.Name}' is registered with '{current.Name}', not '{space.Name}'");
            }
            RunCommitting(() => ListenerReplay.Remove(listener, space.CurrentMap, space.IoeventfdArray, Options.ReplayIoeventfdsAndCoalescing, _failures));
            _listeners.Remove(listener);
            space.ListenerList.Remove(listener);
            _registrations.Remove(listener);
            _failures.ThrowIfAny();
        }
    }

    private static void InsertByPriority(List<MemoryListener> list, MemoryListener listener)
    {
        int i = list.Count;
        while (i > 0 && list[i - 1].Priority > listener.Priority)
        {
            i--;
        }
        list.Insert(i, listener);
    }

    /// <summary>Every registered listener with the current view of its address space, in priority order.</summary>
    private List<(MemoryListener, FlatView)> ListenersWithViews()
        => _listeners.Select(l => (l, _registrations[l].CurrentMap)).ToList();

    // ------------------------------------------------------------------------------------------
    // Dirty logging and coalesced MMIO
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Starts global dirty tracking for the given reasons (<c>memory_global_dirty_log_start</c>).
    /// When tracking goes from off to on, every listener gets <c>log_global_start</c> and a commit
    /// follows in which RAM ranges gain the migration bit (<c>log_start</c>).
    /// </summary>
    /// <param name="flags">Reasons to add; must not be empty.</param>
    public void GlobalDirtyLogStart(GlobalDirtyFlags flags)
    {
        if (flags == GlobalDirtyFlags.None || (flags & ~GlobalDirtyFlags.All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(flags), flags, "give one or more of Migration, DirtyRate, Limit");
        }
        using var tx = Transaction();
        flags &= ~GlobalDirtyTracking;
        if (flags == GlobalDirtyFlags.None)
        {
            return;
        }
        GlobalDirtyFlags old = GlobalDirtyTracking;
        GlobalDirtyTracking |= flags;
        if (old == GlobalDirtyFlags.None)
        {
            RenderingInvalidated = true;
            RunCommitting(() =>
            {
                foreach (MemoryListener l in _listeners)
                {
                    ListenerReplay.Call(l, "log_global_start", _failures, static l => l.LogGlobalStart());
                }
            });
            MarkTopologyChanged(true);
        }
    }

    /// <summary>
    /// Stops global dirty tracking for the given reasons (<c>memory_global_dirty_log_stop</c>). When
    /// the last reason goes, a commit removes the migration bit (<c>log_stop</c>) and then every
    /// listener gets <c>log_global_stop</c>, in reverse order.
    /// </summary>
    /// <param name="flags">Reasons to remove; each must be active.</param>
    public void GlobalDirtyLogStop(GlobalDirtyFlags flags)
    {
        lock (TopologyLock)
        {
            if (flags == GlobalDirtyFlags.None || (GlobalDirtyTracking & flags) != flags)
            {
                throw new InvalidOperationException($"cannot stop global dirty tracking for {flags}: active reasons are {GlobalDirtyTracking}");
            }
            CheckNotCommitting();
            GlobalDirtyTracking &= ~flags;
            if (GlobalDirtyTracking != GlobalDirtyFlags.None)
            {
                return;
            }
            RenderingInvalidated = true;
            using (Transaction())
            {
                MarkTopologyChanged(true);
            }
            RunCommitting(() =>
            {
                for (int i = _listeners.Count - 1; i >= 0; i--)
                {
                    ListenerReplay.Call(_listeners[i], "log_global_stop", _failures, static l => l.LogGlobalStop());
                }
            });
            _failures.ThrowIfAny();
        }
    }

    /// <summary>Asks every listener to bring all dirty bits into the RAMBlock bitmaps (<c>memory_global_dirty_log_sync</c>).</summary>
    public void GlobalDirtyLogSync()
    {
        lock (TopologyLock)
        {
            RunCommitting(() => DirtyLogSync.Sync(ListenersWithViews(), null, _failures));
            _failures.ThrowIfAny();
        }
    }

    /// <summary>Tells every listener that a global dirty sync finished (<c>memory_global_after_dirty_log_sync</c>).</summary>
    public void GlobalAfterDirtyLogSync()
    {
        lock (TopologyLock)
        {
            RunCommitting(AfterSync);
            _failures.ThrowIfAny();
        }
    }

    private void AfterSync()
    {
        foreach (MemoryListener l in _listeners)
        {
            ListenerReplay.Call(l, "log_global_after_sync", _failures, static l => l.LogGlobalAfterSync());
        }
    }

    internal override T SyncDirtyLog<T>(MemoryRegion mr, ulong start, ulong length, Func<T> consume)
    {
        lock (TopologyLock)
        {
            List<(MemoryListener, FlatView)> listeners = ListenersWithViews();
            T result = default!;
            RunCommitting(() =>
            {
                DirtyLogSync.Sync(listeners, mr, _failures);
                result = consume();
                DirtyLogSync.Clear(listeners, mr, start, length, _failures);
                AfterSync();
            });
            _failures.ThrowIfAny();
            return result;
        }
    }

    internal override void CoalescedRangeChanged(MemoryRegion mr, CoalescedRange range, bool add)
    {
        RunCommitting(() =>
        {
            foreach (AddressSpace space in _addressSpaces)
            {
                FlatView view = space.CurrentMap;
                foreach (ref readonly FlatRange fr in view.RangeSpan)
                {
                    if (fr.Region == mr)
                    {
                        CoalescedNotify.Range(space.ListenerList, view, fr, range, add, _failures);
                    }
                }
            }
        });
        _failures.ThrowIfAny();
    }

    // ------------------------------------------------------------------------------------------
    // Reclamation
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Frees the host memory of every RAMBlock (a block still pinned by a <see cref="RamPointer"/> or a
    /// DMA mapping goes when that is given back); the regions must not be used afterwards.
    /// </summary>
    public void Dispose()
    {
        lock (TopologyLock)
        {
            foreach (RamBlock block in RamList.Blocks)
            {
                if (!block.IsFreed)
                {
                    block.FreeNowOrWhenUnpinned();
                }
            }
        }
    }
}
