using Memspace.Listeners;

namespace Memspace.Tests.Support;

/// <summary>Records every callback as one line in a log shared by several listeners.</summary>
internal sealed class RecordingListener(string name, List<string> log, uint priority = 0) : MemoryListener(name, priority)
{
    public RecordingListener(string name, uint priority = 0) : this(name, [], priority)
    {
    }

    public List<string> Log { get; } = log;

    private void Add(string what) => Log.Add($"{Name}:{what}");

    private static string S(in MemoryRegionSection s)
        => $"{s.Region?.Name ?? "-"} [0x{s.OffsetWithinAddressSpace:x},0x{s.End:x})"
           + (s.OffsetWithinRegion != 0 ? $"@0x{s.OffsetWithinRegion:x}" : "")
           + (s.ReadOnly ? " ro" : "");

    public override void Begin() => Add("begin");
    public override void Commit() => Add("commit");
    public override void RegionAdd(in MemoryRegionSection section) => Add($"add {S(section)}");
    public override void RegionDel(in MemoryRegionSection section) => Add($"del {S(section)}");
    public override void RegionNop(in MemoryRegionSection section) => Add($"nop {S(section)}");
    public override void LogStart(in MemoryRegionSection section, byte oldMask, byte newMask) => Add($"log_start {S(section)} {oldMask}->{newMask}");
    public override void LogStop(in MemoryRegionSection section, byte oldMask, byte newMask) => Add($"log_stop {S(section)} {oldMask}->{newMask}");
    public override void LogSync(in MemoryRegionSection section) => Add($"log_sync {S(section)}");
    public override void LogClear(in MemoryRegionSection section) => Add($"log_clear {S(section)}");
    public override void LogGlobalStart() => Add("log_global_start");
    public override void LogGlobalStop() => Add("log_global_stop");
    public override void LogGlobalAfterSync() => Add("log_global_after_sync");
    public override void EventfdAdd(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier)
        => Add($"eventfd_add 0x{section.OffsetWithinAddressSpace:x}/{section.Size}" + (matchData ? $"={data:x}" : ""));
    public override void EventfdDel(in MemoryRegionSection section, bool matchData, ulong data, EventNotifier notifier)
        => Add($"eventfd_del 0x{section.OffsetWithinAddressSpace:x}/{section.Size}" + (matchData ? $"={data:x}" : ""));
    public override void CoalescedIoAdd(in MemoryRegionSection section, ulong address, ulong size) => Add($"coalesced_add 0x{address:x}+0x{size:x}");
    public override void CoalescedIoDel(in MemoryRegionSection section, ulong address, ulong size) => Add($"coalesced_del 0x{address:x}+0x{size:x}");
}
