using Memspace.Core;
using Memspace.Regions;

namespace Memspace.Listeners;

/// <summary>
/// Receives the changes of one address space's view (QEMU's <c>MemoryListener</c>). Override the
/// callbacks you need; the others do nothing.
/// </summary>
/// <remarks>
/// <para>
/// Listeners are kept in ascending <see cref="Priority"/> order (equal priorities in registration
/// order). "Forward" callbacks run in that order, "reverse" ones in the opposite order:
/// <see cref="Begin"/>, <see cref="Commit"/>, <see cref="RegionAdd"/>, <see cref="RegionNop"/>,
/// <see cref="LogStart"/>, <see cref="CoalescedIoAdd"/>, <see cref="LogGlobalStart"/>,
/// <see cref="LogGlobalAfterSync"/> and <see cref="EventfdDel"/> are forward;
/// <see cref="RegionDel"/>, <see cref="LogStop"/>, <see cref="CoalescedIoDel"/>,
/// <see cref="LogGlobalStop"/> and <see cref="EventfdAdd"/> are reverse (the eventfd pair has
/// QEMU's opposite convention).
/// </para>
/// <para>
/// Callbacks run on the thread that commits, with the topology lock held, and must not change the
/// topology. A listener should not throw: if it does, the commit goes on (the other listeners still
/// hear about the change, the views are published) and a <see cref="MemoryListenerException"/>
/// carrying what it threw reaches the code that made the change, after the lock is released.
/// </para>
/// </remarks>
public abstract class MemoryListener
{
    /// <summary>Creates a listener.</summary>
    /// <param name="name">A name for diagnostics and traces.</param>
    /// <param name="priority">Ordering priority (see <see cref="ListenerPriority"/>).</param>
    protected MemoryListener(string name, uint priority = ListenerPriority.Min)
    {
        Name = name;
        Priority = priority;
        ImplementsRegionNop = Overrides(GetType(), nameof(RegionNop));
    }

    /// <summary>
    /// Whether this listener's type overrides <see cref="RegionNop"/>. QEMU calls <c>region_nop</c> only
    /// on listeners that have it; Memspace goes further and, when no listener of an address space has it,
    /// tells the listeners only about the address intervals a commit changed.
    /// </summary>
    internal bool ImplementsRegionNop { get; }

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2070",
        Justification = "If trimming removed the method's metadata, the listener is taken to override it, which only costs speed.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075",
        Justification = "As above.")]
    private static bool Overrides(Type type, string method)
    {
        System.Reflection.MethodInfo? m = type.GetMethod(method, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance,
            [typeof(MemoryRegionSection).MakeByRefType()]);
        return m is null || m.DeclaringType != typeof(MemoryListener);
    }

    /// <summary>Name for diagnostics.</summary>
    public string Name { get; }

    /// <summary>Ordering priority.</summary>
    public uint Priority { get; }

    /// <summary>A topology commit starts (forward, once per commit for every registered listener).</summary>
    public virtual void Begin() { }

    /// <summary>A topology commit ends (forward).</summary>
    public virtual void Commit() { }

    /// <summary>A section appeared (forward).</summary>
    /// <param name="section">The new section.</param>
    public virtual void RegionAdd(in MemoryRegionSection section) { }

    /// <summary>A section disappeared or changed attributes (reverse).</summary>
    /// <param name="section">The old section.</param>
    public virtual void RegionDel(in MemoryRegionSection section) { }

    /// <summary>A section is unchanged by a commit that changed something (forward).</summary>
    /// <param name="section">The section.</param>
    public virtual void RegionNop(in MemoryRegionSection section) { }

    /// <summary>Dirty logging started for a section (forward).</summary>
    /// <param name="section">The section.</param>
    /// <param name="oldMask">Previous dirty-log mask.</param>
    /// <param name="newMask">New dirty-log mask.</param>
    public virtual void LogStart(in MemoryRegionSection section, byte oldMask, byte newMask) { }

    /// <summary>Dirty logging stopped for a section (reverse).</summary>
    /// <param name="section">The section.</param>
    /// <param name="oldMask">Previous dirty-log mask.</param>
    /// <param name="newMask">New dirty-log mask.</param>
    public virtual void LogStop(in MemoryRegionSection section, byte oldMask, byte newMask) { }

    /// <summary>Asked to pull dirty bits for a section into the RAMBlock bitmaps (QEMU's <c>log_sync</c>).</summary>
    /// <param name="section">The section.</param>
    public virtual void LogSync(in MemoryRegionSection section) { }

    /// <summary>Asked to clear dirty state for part of a section (QEMU's <c>log_clear</c>).</summary>
    /// <param name="section">The part of a section whose dirty bits were just consumed.</param>
    public virtual void LogClear(in MemoryRegionSection section) { }

    /// <summary>Global dirty tracking started (forward).</summary>
    public virtual void LogGlobalStart() { }

    /// <summary>Global dirty tracking stopped (reverse).</summary>
    public virtual void LogGlobalStop() { }

    /// <summary>A global dirty sync finished (forward).</summary>
    public virtual void LogGlobalAfterSync() { }

    /// <summary>An ioeventfd appeared in the address space (reverse). The section has only an address, a size and a view.</summary>
    /// <param name="section">Address and size of the ioeventfd.</param>
    /// <param name="matchData">Whether only one value matches.</param>
    /// <param name="data">The value, in device order.</param>
    /// <param name="notifier">What is signalled.</param>
    public virtual void EventfdAdd(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier) { }

    /// <summary>An ioeventfd disappeared from the address space (forward).</summary>
    /// <param name="section">Address and size of the ioeventfd.</param>
    /// <param name="matchData">Whether only one value matches.</param>
    /// <param name="data">The value, in device order.</param>
    /// <param name="notifier">What is signalled.</param>
    public virtual void EventfdDel(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier) { }

    /// <summary>A coalesced MMIO range became visible (forward).</summary>
    /// <param name="section">The section that holds it.</param>
    /// <param name="address">Guest address of the range.</param>
    /// <param name="size">Size of the range.</param>
    public virtual void CoalescedIoAdd(in MemoryRegionSection section, ulong address, ulong size) { }

    /// <summary>A coalesced MMIO range went away (reverse).</summary>
    /// <param name="section">The section that held it.</param>
    /// <param name="address">Guest address of the range.</param>
    /// <param name="size">Size of the range.</param>
    public virtual void CoalescedIoDel(in MemoryRegionSection section, ulong address, ulong size) { }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} (priority {Priority})";
}
