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
        => Section($"log_start 0x{oldMask:x}->0x{newMask:x}", section);

    public override void LogStop(in MemoryRegionSection section, byte oldMask, byte newMask)
        => Section($"log_stop 0x{oldMask:x}->0x{newMask:x}", section);

    private void Section(string callback, in MemoryRegionSection s)
    {
        if (s.Region is not { } mr)
        {
            return;
        }
        string kind = mr.IsRam ? (s.ReadOnly || mr.ReadOnly ? "rom" : "ram") : mr.IsRomd ? "romd" : "i/o";
        _timeline.Record(ChainStructure.MemoryRegionSection, _space,
            $"{callback} [0x{s.OffsetWithinAddressSpace:x}, 0x{s.End:x}) {kind} '{mr.Name}' +0x{s.OffsetWithinRegion:x}");
    }
}
