using Memspace.Dispatch;
using Memspace.Listeners;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace;

/// <summary>
/// A view of the region graph from one root, as a bus master sees it (QEMU's <c>AddressSpace</c>):
/// "memory", "I/O", a CPU's view, a PCI device's bus-master view. Created by
/// <see cref="MemorySystem.CreateAddressSpace"/>.
/// </summary>
public sealed partial class AddressSpace : IGuestMemory
{
    private DispatchTable? _dispatch;

    internal AddressSpace(MemorySystem system, MemoryRegion root, string name)
    {
        System = system;
        Root = root;
        Name = name;
    }

    /// <summary>The memory system the address space belongs to.</summary>
    public MemorySystem System { get; }

    /// <summary>The address space's name.</summary>
    public string Name { get; }

    /// <summary>The root region.</summary>
    public MemoryRegion Root { get; }

    /// <summary>
    /// The region the view is rendered from (<c>memory_region_get_flatview_root</c>), or null when the
    /// view is empty. Address spaces with the same flat-view root share one <see cref="FlatView"/>.
    /// </summary>
    public MemoryRegion? FlatViewRoot
    {
        get
        {
            lock (System.TopologyLock)
            {
                return System.GetFlatViewRoot(Root);
            }
        }
    }

    /// <summary>The current view (QEMU's <c>current_map</c>). Lock-free; the object is immutable.</summary>
    public FlatView CurrentMap => Volatile.Read(ref _dispatch)!.View;

    /// <summary>The dispatch table of the current view, for guest accesses.</summary>
    internal DispatchTable Dispatch => Volatile.Read(ref _dispatch)!;

    /// <summary>The listeners registered with this address space, in ascending priority order.</summary>
    public IReadOnlyList<MemoryListener> Listeners => ListenerList;

    /// <summary>The ioeventfds visible in this address space, with absolute addresses, as last reported to listeners.</summary>
    public IReadOnlyList<MemoryRegionIoeventfd> Ioeventfds => IoeventfdArray;

    /// <summary>Whether <see cref="Destroy"/> has been called.</summary>
    public bool IsDestroyed { get; private set; }

    internal List<MemoryListener> ListenerList { get; } = [];

    internal MemoryRegionIoeventfd[] IoeventfdArray { get; set; } = [];

    internal DispatchTable? DispatchOrNull => _dispatch;

    /// <summary>
    /// Registers <paramref name="listener"/> (<c>memory_listener_register</c>). The listener alone is
    /// given the current view at once: <c>begin</c>, <c>region_add</c> for every range (nothing when
    /// the view is empty), then <c>commit</c>.
    /// </summary>
    /// <param name="listener">A listener that is not registered anywhere.</param>
    public void RegisterListener(MemoryListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        System.Register(listener, this);
    }

    /// <summary>
    /// Unregisters <paramref name="listener"/> (<c>memory_listener_unregister</c>), which is told that
    /// every range goes away first. Does nothing if it is not registered.
    /// </summary>
    /// <param name="listener">The listener.</param>
    public void UnregisterListener(MemoryListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        System.Unregister(listener, this);
    }

    /// <summary>
    /// Makes an accessor with its own reader state and translation cache, for a thread (a vCPU, a device
    /// model) that accesses this address space often: the same results as this object's methods, without
    /// looking up the calling thread's state on every access.
    /// </summary>
    public GuestMemoryAccessor CreateAccessor() => new(this);

    /// <summary>
    /// Removes the address space from its memory system (<c>address_space_destroy</c>). Unregister its
    /// listeners first.
    /// </summary>
    public void Destroy()
    {
        if (IsDestroyed)
        {
            return;
        }
        System.RemoveAddressSpace(this);
        IsDestroyed = true;
    }

    internal void Publish(DispatchTable table) => Volatile.Write(ref _dispatch, table);

    /// <inheritdoc/>
    public override string ToString() => $"AddressSpace '{Name}' (root: {Root.Name})";
}
