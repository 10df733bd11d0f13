using Memspace.Ram;

namespace Memspace.Regions;

/// <summary>
/// What the regions of one machine share: the topology lock (QEMU's BQL plays this role), the
/// transaction state (<c>memory_region_transaction_depth</c> and the pending flags), the RAM list their
/// RAMBlocks live in, and the diagnostics their accesses report. <see cref="MemorySystem"/> is the one
/// implementation: it renders, diffs and publishes at the outermost commit.
/// </summary>
/// <remarks>
/// Regions only mark what changed. They know nothing of rendering, listeners or dispatch: where a
/// change needs those (a cycle check, an address-space root, a dirty-log sync), they ask through the
/// members below, which the memory system implements.
/// </remarks>
public abstract class RegionGraph
{
    private int _depth;
    private bool _updatePending;
    private bool _ioeventfdUpdatePending;
    private bool _committing;
    private long _serial;
    private long _attachSequence;
    private List<RegionChange> _changes = [];

    private protected RegionGraph(int targetPageBits, bool allocateRam)
    {
        RamList = new RamList(targetPageBits);
        AllocateRam = allocateRam;
    }

    /// <summary>The lock that serialises topology changes and listener callbacks (QEMU's BQL).</summary>
    internal Lock TopologyLock { get; } = new();

    /// <summary>The RAMBlocks and dirty bitmaps (QEMU's <c>ram_list</c>).</summary>
    public RamList RamList { get; }

    /// <summary>Whether RAM regions get host memory (see <see cref="MemorySystemOptions.AllocateRam"/>).</summary>
    internal bool AllocateRam { get; }

    /// <summary>Current transaction nesting depth (0 outside transactions).</summary>
    public int TransactionDepth => _depth;

    /// <summary>The global dirty-tracking reasons that are active.</summary>
    public GlobalDirtyFlags GlobalDirtyTracking { get; private protected set; }

    /// <summary>
    /// Whether an accelerator signals eventfd-backed ioeventfds itself (KVM does, in the kernel). A
    /// write that reaches Memspace and matches an ioeventfd the accelerator does not handle signals
    /// it instead of calling the device, as QEMU does under TCG.
    /// </summary>
    public bool IoeventfdsHandledByAccelerator { get; set; }

    /// <summary>
    /// Guest errors (QEMU's <c>-d guest_errors</c>): accesses a region rejected. Raised on the accessing
    /// thread; keep handlers cheap.
    /// </summary>
    public event Action<string>? GuestError;

    /// <summary>Warnings (QEMU's <c>warn_report</c>), for example a blocked re-entrant device access.</summary>
    public event Action<string>? Warning;

    /// <summary>
    /// Raised when a region is mapped, unmapped, moved, enabled or disabled, with QEMU's name for the
    /// call. Handlers run under the topology lock, before the change is committed, and must not change
    /// the topology.
    /// </summary>
    public event Action<MemoryRegion, string>? RegionChanged;

    internal bool GuestErrorsEnabled => GuestError is not null;

    internal void ReportGuestError(string message) => GuestError?.Invoke(message);

    internal void ReportWarning(string message) => Warning?.Invoke(message);

    internal void NotifyRegionChanged(MemoryRegion region, string what) => RegionChanged?.Invoke(region, what);

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
    /// <exception cref="Listeners.MemoryListenerException">A listener threw during the commit; the commit itself completed.</exception>
    public void CommitTransaction()
    {
        if (!TopologyLock.IsHeldByCurrentThread || _depth == 0)
        {
            throw new InvalidOperationException("CommitTransaction without a matching BeginTransaction on this thread");
        }
        try
        {
            if (--_depth == 0 && (_updatePending || _ioeventfdUpdatePending))
            {
                bool topology = _updatePending;
                bool ioeventfds = _ioeventfdUpdatePending;
                _updatePending = false;
                _ioeventfdUpdatePending = false;
                RunCommitting(() => Commit(topology, ioeventfds));
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

    /// <summary>
    /// The outermost commit of a transaction that changed something: with <paramref name="topology"/>,
    /// the graph changed (render and tell listeners); with <paramref name="ioeventfds"/>, some region's
    /// ioeventfds did. Runs under the topology lock with changes refused.
    /// </summary>
    internal abstract void Commit(bool topology, bool ioeventfds);

    /// <summary>Runs <paramref name="action"/> with topology changes refused (a listener callback must not make one).</summary>
    private protected void RunCommitting(Action action)
    {
        bool outer = _committing;
        _committing = true;
        try
        {
            action();
        }
        finally
        {
            _committing = outer;
        }
    }

    /// <summary>Throws when called from inside a commit (a listener callback).</summary>
    private protected void CheckNotCommitting()
    {
        if (_committing)
        {
            throw new InvalidOperationException("a memory listener tried to change the topology from inside a commit; defer the change until the commit has finished");
        }
    }

    internal void MarkTopologyChanged(bool pending) => _updatePending |= pending;

    /// <summary>The topology-pending flag, so that a refused change can be undone without a commit.</summary>
    internal bool SnapshotPending() => _updatePending;

    internal void RestorePending(bool pending) => _updatePending = pending;

    internal void MarkIoeventfdsChanged(bool pending) => _ioeventfdUpdatePending |= pending;

    // ------------------------------------------------------------------------------------------
    // What changed since the last commit, for incremental rendering
    // ------------------------------------------------------------------------------------------

    /// <summary>A number no region of this graph has had before.</summary>
    internal long NextSerial() => Interlocked.Increment(ref _serial);

    /// <summary>The next attach sequence (orders equal-priority siblings).</summary>
    internal long NextAttachSequence() => ++_attachSequence;

    /// <summary>
    /// Notes that [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="region"/> may render
    /// differently (<paramref name="content"/>), or that the region was shown or hidden (not content).
    /// </summary>
    internal void RecordChange(MemoryRegion region, UInt128 start, UInt128 end, bool content = true)
    {
        if (start < end)
        {
            _changes.Add(new RegionChange(region, start, end, content));
        }
    }

    /// <summary>Takes the changes recorded since the last call.</summary>
    internal List<RegionChange> TakeChanges()
    {
        List<RegionChange> changes = _changes;
        _changes = [];
        return changes;
    }

    /// <summary>
    /// Whether an alias has ever pointed back into its own container (Arm's SSE does this). Such a graph
    /// renders through a cycle whose window shrinks each round; the incremental renderer leaves it to
    /// the full one.
    /// </summary>
    internal bool AliasCycleSeen { get; set; }

    /// <summary>Whether every cached rendering must be thrown away at the next commit (the dirty-log masks of all RAM changed).</summary>
    internal bool RenderingInvalidated { get; set; }

    // ------------------------------------------------------------------------------------------
    // What regions ask of the memory system
    // ------------------------------------------------------------------------------------------

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

    /// <summary>
    /// Why rendering from <paramref name="from"/> would never end (an alias cycle whose window does not
    /// shrink), or null when it ends. Asked after a change that may have closed or widened a cycle.
    /// </summary>
    internal abstract string? WhyUnrenderable(MemoryRegion from);

    /// <summary>The name of an address space rooted at <paramref name="mr"/>, or null.</summary>
    internal abstract string? AddressSpaceRootedAt(MemoryRegion mr);

    /// <summary>Tells listeners at once that a coalesced range of <paramref name="mr"/> appeared or went.</summary>
    internal abstract void CoalescedRangeChanged(MemoryRegion mr, CoalescedRange range, bool add);

    /// <summary>
    /// Pulls listeners' dirty bits for <paramref name="mr"/> (<c>log_sync</c>), lets
    /// <paramref name="consume"/> take the bits of [<paramref name="start"/>, + <paramref name="length"/>),
    /// then tells listeners what was consumed (<c>log_clear</c>) and that the sync ended
    /// (<c>log_global_after_sync</c>).
    /// </summary>
    internal abstract T SyncDirtyLog<T>(MemoryRegion mr, ulong start, ulong length, Func<T> consume);
}
