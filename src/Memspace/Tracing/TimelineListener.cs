using Memspace.Listeners;

namespace Memspace.Tracing;

/// <summary>A memory listener that writes every callback it receives to a <see cref="ChainTimeline"/>.</summary>
internal sealed class TimelineListener : MemoryListener
{
    private readonly ChainTimeline _timeline;
    private readonly string _space;

    public TimelineListener(ChainTimeline timeline, string space)
        : base("timeline", ListenerPriority.Min)
    {
        _timeline = timeline;
        _space = space;
    }

    public override void RegionAdd(in MemoryRegionSection section) => Section("region_add", section);

    public override void RegionDel(in MemoryRegionSection section) => Section("region_del", section);

    public override void LogStart(in MemoryRegionSection section, byte oldMask, byte newMask)
        => Section("log_start", section, oldMask, newMask);

    public override void LogStop(in MemoryRegionSection section, byte oldMask, byte newMask)
        => Section("log_stop", section, oldMask, newMask);

    private void Section(string callback, in MemoryRegionSection s, byte? oldMask = null, byte? newMask = null)
    {
        if (s.Region is not { } mr)
        {
            return;
        }
        string kind = mr.IsRam ? (s.ReadOnly || mr.ReadOnly ? "rom" : "ram") : mr.IsRomd ? "romd" : "i/o";
        _timeline.Record(ChainStructure.MemoryRegionSection, _space,
            new SectionEvent(_space, callback, s.OffsetWithinAddressSpace, s.End, kind, mr.Name, s.OffsetWithinRegion, oldMask, newMask));
    }
}
