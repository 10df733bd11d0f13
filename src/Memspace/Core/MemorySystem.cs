using Memspace.Listeners;
using Memspace.Ram;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace;

/// <summary>
/// The memory system of one machine: its address spaces, listeners, transaction state and
/// rendered views. It holds what QEMU keeps in globals (<c>address_spaces</c>,
/// <c>memory_listeners</c>, <c>flat_views</c>, the transaction depth and pending flags).
/// </summary>
/// <remarks>
/// <para>
/// Every change to the region graph runs under the topology lock (QEMU's BQL plays this role) and
/// inside a transaction. Transactions nest; only the outermost commit renders new
/// <see cref="FlatView"/>s, one per distinct physical root, and diffs them for listeners. A commit
/// with nothing pending does nothing at all.
/// </para>
/// <para>
/// Readers of <see cref="AddressSpace.CurrentMap"/> take no lock: views are immutable and published
/// atomically.
/// </para>
/// </remarks>
public sealed class MemorySystem : IDisposable
{
    private readonly List<AddressSpace> _addressSpaces = [];
    private readonly List<MemoryListener> _listeners = [];
    private readonly FlatView _emptyView;
    private Dictionary<MemoryRegion, FlatView> _flatViews = new(ReferenceEqualityComparer.Instance);
    private int _depth;
    private bool _updatePending;
    private bool _ioeventfdUpdatePending;
    private bool _committing;
    private long _generation;

    /// <summary>Creates an empty memory system.</summary>
    /// <param name="options">Behaviour switches; null for the defaults.</param>
    public MemorySystem(MemorySystemOptions? options = null)
    {
        Options = options ?? new MemorySystemOptions();
        if (Options.TargetPageBits is < 10 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.TargetPageBits, "TargetPageBits is between 10 (1 KiB pages) and 16");
        }
        RamList = new RamList(Options.TargetPageBits);
        _emptyView = new FlatView(null, [], 0);
    }

    /// <summary>The lock that serialises topology changes and listener callbacks (QEMU's BQL).</summary>
    internal Lock TopologyLock { get; } = new();

    /// <summary>Behaviour switches.</summary>
    public MemorySystemOptions Options { get; }

    /// <summary>The RAMBlocks and dirty bitmaps (QEMU's <c>ram_list</c>).</summary>
    public RamList RamList { get; }

    /// <summary>The address spaces, in creation order.</summary>
    public IReadOnlyList<AddressSpace> AddressSpaces => _addressSpaces;

    /// <summary>All registered listeners, in ascending priority order.</summary>
    public IReadOnlyList<MemoryListener> Listeners => _listeners;

    /// <summary>The shared view of every address space whose root renders nothing.</summary>
    public FlatView EmptyFlatView => _emptyView;

    /// <summary>Current transaction nesting depth (0 outside transactions).</summary>
    public int TransactionDepth => _depth;

    /// <summary>The global dirty-tracking reasons that are active.</summary>
    public GlobalDirtyFlags GlobalDirtyTracking { get; private set; }

    /// <summary>Number of topology commits so far (a commit that changed nothing is not counted).</summary>
    public long CommitCount { get; private set; }

    /// <summary>
    /// Guest errors (QEMU's <c>-d guest_errors</c>): accesses a region rejected. Raised on the accessing
    /// thread; keep handlers cheap.
    /// </summary>
    public event Action<string>? GuestError;

    /// <summary>Warnings (QEMU's <c>warn_report</c>), for example a blocked re-entrant device access.</summary>
    public event Action<string>? Warning;

    /// <summary>
    /// Raised at the end of every outermost commit that changed the topology, after the listeners'
    /// <c>commit</c> callbacks, with <see cref="CommitCount"/>. Handlers run under the topology lock and
    /// must not change the topology.
    /// </summary>
    public event Action<long>? TopologyCommitted;

    /// <summary>
    /// Raised when a region is mapped, unmapped, moved, enabled or disabled, with QEMU's name for the
    /// call. Handlers run under the topology lock, before the change is committed, and must not change
    /// the topology.
    /// </summary>
    public event Action<MemoryRegion, string>? RegionChanged;

    internal void NotifyRegionChanged(MemoryRegion region, string what) => RegionChanged?.Invoke(region, what);

    /// <summary>
    /// Whether an accelerator signals eventfd-backed ioeventfds itself (KVM does, in the kernel). A
    /// write that reaches Memspace and matches an ioeventfd the accelerator does not handle signals
    /// it instead of calling the device, as QEMU does under TCG.
    /// </summary>
    public bool IoeventfdsHandledByAccelerator { get; set; }

    internal bool GuestErrorsEnabled => GuestError is not null;

    internal void ReportGuestError(string message) => GuestError?.Invoke(message);

    internal void ReportWarning(string message) => Warning?.Invoke(message);

    /// <summary>
    /// The accelerator asked by <c>info mtree -f</c> which ranges it maps directly (QEMU's
    /// <c>has_memory</c>); null without one.
    /// </summary>
    public IMemoryAccelerator? Accelerator { get; set; }

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
                _flatViews[physRoot] = Render(physRoot);
            }
            SetFlatView(space);
            UpdateIoeventfds(space);
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
    // Transactions
    // ------------------------------------------------------------------------------------------

    /// <summary>
    /// Starts a transaction (<c>memory_region_transaction_begin</c>): takes the topology lock and
    /// defers rendering until the matching outermost <see cref="CommitTransaction"/>, which must be
    /// called on the same thread.
    /// </summary>
    public void BeginTransaction()
    {
        TopologyLock.Enter();
        if (_committing)
        {
            TopologyLock.Exit();
            throw new InvalidOperationException("a memory listener tried to change the topology from inside a commit; defer the change until the commit has finished");
        }
        _depth++;
    }

    /// <summary>
    /// Ends a transaction (<c>memory_region_transaction_commit</c>). At the outermost level, if the
    /// topology changed, every view is rendered again and every listener sees one
    /// begin ... commit bracket with the differences; if only ioeventfds changed, only the
    /// ioeventfd differences are reported.
    /// </summary>
    public void CommitTransaction()
    {
        if (!TopologyLock.IsHeldByCurrentThread || _depth == 0)
        {
            throw new InvalidOperationException("CommitTransaction without a matching BeginTransaction on this thread");
        }
        try
        {
            if (--_depth == 0)
            {
                CommitPending();
            }
        }
        finally
        {
            TopologyLock.Exit();
        }
    }

    /// <summary>Begins a transaction that is committed when the returned value is disposed.</summary>
    /// <example><code>using (system.Transaction()) { a.SetEnabled(false); b.SetEnabled(true); }</code></example>
    public MemoryTransaction Transaction()
    {
        BeginTransaction();
        return new MemoryTransaction(this);
    }

    internal void MarkTopologyChanged(bool pending) => _updatePending |= pending;

    /// <summary>The topology-pending flag, so that a refused change can be undone without a commit.</summary>
    internal bool SnapshotPending() => _updatePending;

    internal void RestorePending(bool pending) => _updatePending = pending;

    internal void MarkIoeventfdsChanged(bool pending) => _ioeventfdUpdatePending |= pending;

    private void CheckNotCommitting()
    {
        if (_committing)
        {
            throw new InvalidOperationException("a memory listener tried to change the topology from inside a commit; defer the change until the commit has finished");
        }
    }

    private void CommitPending()
    {
        if (!_updatePending && !_ioeventfdUpdatePending)
        {
            return;
        }
        _committing = true;
        try
        {
            if (_updatePending)
            {
                _updatePending = false;
                _ioeventfdUpdatePending = false;
                CommitCount++;
                ResetFlatViews();
                foreach (MemoryListener l in _listeners)
                {
                    l.Begin();
                }
                foreach (AddressSpace space in _addressSpaces)
                {
                    SetFlatView(space);
                    UpdateIoeventfds(space);
                }
                foreach (MemoryListener l in _listeners)
                {
                    l.Commit();
                }
                TopologyCommitted?.Invoke(CommitCount);
            }
            else
            {
                _ioeventfdUpdatePending = false;
                foreach (AddressSpace space in _addressSpaces)
                {
                    UpdateIoeventfds(space);
                }
            }
        }
        finally
        {
            _committing = false;
        }
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
                foreach (MemoryRegion child in mr.Subregions)
                {
                    if (!child.Enabled)
                    {
                        continue;
                    }
                    if (++found > 1)
                    {
                        next = null;
                        break;
                    }
                    if (child.Address == 0 && mr.Size >= child.Size)
                    {
                        next = child;
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

    /// <summary>
    /// The effective dirty-log mask of a region (<c>memory_region_get_dirty_log_mask</c>): its own
    /// VGA bit, plus the migration bit while global dirty tracking is on and the region has
    /// migratable RAM.
    /// </summary>
    internal byte EffectiveDirtyLogMask(MemoryRegion mr)
    {
        byte mask = mr.OwnDirtyLogMask;
        if (GlobalDirtyTracking != GlobalDirtyFlags.None && mr.HasMigratableRam)
        {
            mask |= 1 << (int)DirtyMemoryClient.Migration;
        }
        return mask;
    }

    private FlatView Render(MemoryRegion physRoot)
    {
        FlatRange[] ranges = FlatViewRenderer.Render(physRoot, EffectiveDirtyLogMask);
        return new FlatView(physRoot, ranges, ++_generation, Options.HonourSectionReadOnly);
    }

    private void ResetFlatViews()
    {
        var views = new Dictionary<MemoryRegion, FlatView>(ReferenceEqualityComparer.Instance);
        foreach (AddressSpace space in _addressSpaces)
        {
            MemoryRegion? physRoot = GetFlatViewRoot(space.Root);
            if (physRoot is not null && !views.ContainsKey(physRoot))
            {
                views[physRoot] = Render(physRoot);
            }
        }
        _flatViews = views;
    }

    private void SetFlatView(AddressSpace space)
    {
        FlatView? old = space.CurrentMapOrNull;
        MemoryRegion? physRoot = GetFlatViewRoot(space.Root);
        FlatView next = physRoot is null ? _emptyView : _flatViews[physRoot];
        if (old == next)
        {
            return;
        }
        if (space.Listeners.Count > 0)
        {
            TopologyDiff.Report(space, old ?? _emptyView, next);
        }
        space.Publish(next);
    }

    private static void UpdateIoeventfds(AddressSpace space)
    {
        MemoryRegionIoeventfd[] next = IoeventfdDiff.Collect(space.CurrentMap);
        IoeventfdDiff.Report(space, space.IoeventfdArray, next);
        space.IoeventfdArray = next;
    }

    // ------------------------------------------------------------------------------------------
    // Listeners
    // ------------------------------------------------------------------------------------------

    internal void Register(MemoryListener listener, AddressSpace space)
    {
        lock (TopologyLock)
        {
            CheckNotCommitting();
            if (listener.AddressSpace is { } current)
            {
                throw new InvalidOperationException($"listener '{listener.Name}' is already registered with address space '{current.Name}'");
            }
            if (!_addressSpaces.Contains(space))
            {
                throw new InvalidOperationException($"address space '{space.Name}' has been destroyed");
            }
            listener.AddressSpace = space;
            InsertByPriority(_listeners, listener);
            InsertByPriority(space.ListenerList, listener);
            ListenerReplay.Add(this, listener, space);
        }
    }

    internal void Unregister(MemoryListener listener)
    {
        lock (TopologyLock)
        {
            CheckNotCommitting();
            if (listener.AddressSpace is not { } space)
            {
                return;
            }
            ListenerReplay.Remove(this, listener, space);
            _listeners.Remove(listener);
            space.ListenerList.Remove(listener);
            listener.AddressSpace = null;
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
            _committing = true;
            try
            {
                foreach (MemoryListener l in _listeners)
                {
                    l.LogGlobalStart();
                }
            }
            finally
            {
                _committing = false;
            }
            _updatePending = true;
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
            using (Transaction())
            {
                _updatePending = true;
            }
            for (int i = _listeners.Count - 1; i >= 0; i--)
            {
                _listeners[i].LogGlobalStop();
            }
        }
    }

    /// <summary>Asks every listener to bring all dirty bits into the RAMBlock bitmaps (<c>memory_global_dirty_log_sync</c>).</summary>
    public void GlobalDirtyLogSync()
    {
        lock (TopologyLock)
        {
            DirtyLogSync.Sync(this, null);
        }
    }

    /// <summary>Tells every listener that a global dirty sync finished (<c>memory_global_after_dirty_log_sync</c>).</summary>
    public void GlobalAfterDirtyLogSync()
    {
        lock (TopologyLock)
        {
            foreach (MemoryListener l in _listeners)
            {
                l.LogGlobalAfterSync();
            }
        }
    }

    internal void NotifyCoalesced(MemoryRegion mr, CoalescedRange range, bool add)
    {
        foreach (AddressSpace space in _addressSpaces)
        {
            FlatView view = space.CurrentMap;
            foreach (ref readonly FlatRange fr in view.RangeSpan)
            {
                if (fr.Region == mr)
                {
                    CoalescedNotify.Range(space, view, fr, range, add);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Reclamation
    // ------------------------------------------------------------------------------------------

    /// <summary>Releases host memory of a freed RAMBlock once no reader or DMA mapping can still use it.</summary>
    internal static void FreeWhenReadersLeave(RamBlock block)
    {
        if (block.Memory is { } memory)
        {
            Rcu.Call(() => block.ReleaseWhenUnmapped(memory));
        }
    }

    /// <summary>Frees the host memory of every RAMBlock; the regions must not be used afterwards.</summary>
    public void Dispose()
    {
        lock (TopologyLock)
        {
            foreach (RamBlock block in RamList.Blocks)
            {
                block.IsFreed = true;
                block.Memory?.Dispose();
            }
        }
    }
}
