using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using Memspace.Machines;
using Memspace.Tests.Support;
using static Memspace.Tests.Support.ScriptedVcpuBackend;

namespace Memspace.Tests.Core;

/// <summary>The "Memspace" event counters, read the way dotnet-counters reads them: an EventListener asking for counter payloads.</summary>
public class EventCountersTests
{
    [Fact]
    public void CountersReportCommitsRendersSlotIoctlsAndExits()
    {
        // The source exists once the library first counts; dotnet-counters picks it up then, this listener at once.
        Assert.Equal("Memspace", MemspaceEventSource.Log.Name);
        using var listener = new CounterListener();
        Assert.True(listener.Enabled.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the Memspace event source was not found");

        int exits;
        long commits;
        int ioctls;
        using (Machine machine = Machine.Create("q35", new MachineOptions()))
        {
            using var vcpu = new Vcpu(new ScriptedVcpuBackend(Step.Out(0xcf8, 4, 0x8000_0090), Step.Out(0xcfc, 1, 0x30), Step.Out(0x80, 1, 1)), machine.Memory, machine.Io);
            Assert.Equal(VcpuStopReason.Halted, vcpu.Run().Reason);
            exits = 4;
            commits = machine.System.CommitCount;
            ioctls = machine.Kvm!.Trace.Count;
        }

        // Totals arrive as "Mean" of a polling counter; other tests may add to them, never take away.
        Assert.True(listener.WaitFor(p => p.Total("commits") >= commits && p.Total("slot-ioctls") >= ioctls && p.Total("vcpu-exits") >= exits && p.Total("renders") >= 1, TimeSpan.FromSeconds(20)),
            listener.Describe());
        // The rates are incrementing counters: some interval saw the increments.
        Assert.True(listener.WaitFor(p => p.MaxIncrement("commit-rate") > 0 && p.MaxIncrement("slot-ioctl-rate") > 0 && p.MaxIncrement("vcpu-exit-rate") > 0 && p.MaxIncrement("render-rate") > 0, TimeSpan.FromSeconds(20)),
            listener.Describe());
        Assert.Equal("Topology commits", listener.DisplayName("commits"));
        Assert.Equal("vCPU exits per second", listener.DisplayName("vcpu-exit-rate"));
    }

    private sealed class CounterListener : EventListener
    {
        private readonly ConcurrentDictionary<string, (double Total, double MaxIncrement, string Display)> _seen = new();
        private readonly Lock _lock = new();

        public ManualResetEventSlim Enabled { get; } = new();

        public double Total(string name) => _seen.TryGetValue(name, out var v) ? v.Total : -1;

        public double MaxIncrement(string name) => _seen.TryGetValue(name, out var v) ? v.MaxIncrement : -1;

        public string? DisplayName(string name) => _seen.TryGetValue(name, out var v) ? v.Display : null;

        public bool WaitFor(Func<CounterListener, bool> condition, TimeSpan timeout)
        {
            return SpinWait.SpinUntil(() => condition(this), timeout);
        }

        public string Describe() => string.Join(", ", _seen.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value.Total}/{kv.Value.MaxIncrement}"));

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Memspace")
            {
                EnableEvents(source, EventLevel.LogAlways, EventKeywords.All, new Dictionary<string, string?> { ["EventCounterIntervalSec"] = "0.1" });
                Enabled.Set();
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "EventCounters" || e.Payload is not [IDictionary<string, object> p, ..])
            {
                return;
            }
            string name = (string)p["Name"];
            string display = p.TryGetValue("DisplayName", out object? d) ? (string)d : "";
            lock (_lock)
            {
                (double total, double increment, _) = _seen.GetValueOrDefault(name, (-1, -1, ""));
                if (p.TryGetValue("Mean", out object? mean))
                {
                    total = Math.Max(total, Convert.ToDouble(mean, System.Globalization.CultureInfo.InvariantCulture));
                }
                if (p.TryGetValue("Increment", out object? inc))
                {
                    increment = Math.Max(increment, Convert.ToDouble(inc, System.Globalization.CultureInfo.InvariantCulture));
                }
                _seen[name] = (total, increment, display);
            }
        }
    }
}
