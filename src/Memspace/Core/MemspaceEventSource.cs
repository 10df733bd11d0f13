using System.Diagnostics.Tracing;

namespace Memspace.Core;

/// <summary>
/// The "Memspace" event source: .NET event counters for a running machine, so that
/// <c>dotnet-counters monitor -n memspace --counters Memspace</c> shows it. Each count is offered
/// as a total (<see cref="PollingCounter"/>) and as a rate per second
/// (<see cref="IncrementingPollingCounter"/>): topology commits, views rendered, accelerator mapping
/// changes (KVM slot ioctls) and vCPU exits. Counting costs one <see cref="EventSource.IsEnabled()"/>
/// check while nobody listens; totals count from the moment a listener enabled the source.
/// </summary>
[EventSource(Name = "Memspace")]
internal sealed class MemspaceEventSource : EventSource
{
    /// <summary>The process's one instance.</summary>
    public static readonly MemspaceEventSource Log = new();

    private readonly Lock _lock = new();
    private long _commits;
    private long _renders;
    private long _mappings;
    private long _exits;
    private DiagnosticCounter[]? _counters;

    private MemspaceEventSource()
        : base(EventSourceSettings.EtwSelfDescribingEventFormat)
    {
    }

    /// <summary>A topology commit finished (<c>memory_region_transaction_commit</c>).</summary>
    public void Commit()
    {
        if (IsEnabled())
        {
            Interlocked.Increment(ref _commits);
        }
    }

    /// <summary>A commit made a new view of a root (a new <c>FlatView</c>).</summary>
    public void Render()
    {
        if (IsEnabled())
        {
            Interlocked.Increment(ref _renders);
        }
    }

    /// <summary>An accelerator changed a guest memory mapping (KVM: one <c>KVM_SET_USER_MEMORY_REGION</c> change).</summary>
    public void MappingChanged()
    {
        if (IsEnabled())
        {
            Interlocked.Increment(ref _mappings);
        }
    }

    /// <summary>A vCPU exit was served.</summary>
    public void VcpuExit()
    {
        if (IsEnabled())
        {
            Interlocked.Increment(ref _exits);
        }
    }

    /// <inheritdoc/>
    protected override void OnEventCommand(EventCommandEventArgs command)
    {
        if (command.Command != EventCommand.Enable)
        {
            return;
        }
        lock (_lock)
        {
            _counters ??=
            [
                Total("commits", "Topology commits", () => Volatile.Read(ref _commits)),
                Rate("commit-rate", "Topology commits", () => Volatile.Read(ref _commits)),
                Total("renders", "Views rendered (FlatViews)", () => Volatile.Read(ref _renders)),
                Rate("render-rate", "Views rendered (FlatViews)", () => Volatile.Read(ref _renders)),
                Total("slot-ioctls", "Accelerator mapping changes (KVM slot ioctls)", () => Volatile.Read(ref _mappings)),
                Rate("slot-ioctl-rate", "Accelerator mapping changes (KVM slot ioctls)", () => Volatile.Read(ref _mappings)),
                Total("vcpu-exits", "vCPU exits", () => Volatile.Read(ref _exits)),
                Rate("vcpu-exit-rate", "vCPU exits", () => Volatile.Read(ref _exits)),
            ];
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_lock)
            {
                foreach (DiagnosticCounter c in _counters ?? [])
                {
                    c.Dispose();
                }
                _counters = null;
            }
        }
        base.Dispose(disposing);
    }

    private PollingCounter Total(string name, string display, Func<long> value)
        => new(name, this, () => value()) { DisplayName = display };

    private IncrementingPollingCounter Rate(string name, string display, Func<long> value)
        => new(name, this, () => value()) { DisplayName = display + " per second", DisplayRateTimeScale = TimeSpan.FromSeconds(1) };
}
