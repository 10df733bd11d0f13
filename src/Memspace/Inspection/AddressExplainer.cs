using Memspace.Kvm;
using Memspace.Listeners;
using Memspace.Regions;
using Memspace.Rendering;

namespace Memspace.Inspection;

/// <summary>
/// Explains a guest address (<c>memspace explain</c>): walks the region tree the way the renderer does
/// for that single address, and joins the result with the flat view, the RAM list and the KVM slots.
/// </summary>
public static class AddressExplainer
{
    /// <summary>Explains <paramref name="address"/> in <paramref name="space"/>.</summary>
    /// <param name="space">The address space.</param>
    /// <param name="address">The guest address.</param>
    /// <param name="kvm">The accelerator whose slots to look up, or null.</param>
    public static AddressExplanation Explain(AddressSpace space, ulong address, KvmAccelerator? kvm = null)
    {
        ArgumentNullException.ThrowIfNull(space);
        FlatView view = space.CurrentMap;
        FlatRange? range = view.Lookup(address);
        var steps = new List<RegionStep>();
        Resolve(space.Root, address, 0, steps, rootReadOnly: false);
        var explanation = new AddressExplanation
        {
            Address = address,
            Space = space,
            View = view,
            Range = range,
            Section = range is null ? null : MemoryRegionSection.Find(view, address, 1),
            Steps = steps,
        };
        if (range is { } r && r.Region.RamBlock is { } block)
        {
            ulong offset = r.OffsetInRegion + (address - (ulong)r.Start);
            explanation = explanation with { Block = block, BlockOffset = offset };
        }
        if (kvm is not null)
        {
            Listeners.MemoryListener? listener = space == kvm.MemorySpace ? kvm.MemoryListener : space == kvm.SmramSpace ? kvm.SmramListener : null;
            if (listener is KvmMemoryListener kl)
            {
                explanation = explanation with { Slot = kl.Slots.FirstOrDefault(s => address >= s.StartAddr && address - s.StartAddr < s.MemorySize) };
            }
        }
        return explanation;
    }

    /// <summary>A region being resolved: an alias waiting for its target, or a container going through its subregions.</summary>
    private sealed class Frame(MemoryRegion region, ulong offset, int depth, bool readOnly, int step)
    {
        public MemoryRegion Region { get; } = region;
        public ulong Offset { get; } = offset;
        public int Depth { get; } = depth;
        public bool ReadOnly { get; } = readOnly;
        public int Step { get; } = step;
        public int NextChild { get; set; }
        public bool Served { get; set; }
        public bool Started { get; set; }
    }

    /// <summary>
    /// The renderer's rule for one address: an enabled region covering it is tried; an alias continues
    /// in its target; a container tries its subregions in priority order and the first that renders
    /// something wins; a region with its own contents serves whatever its subregions leave.
    /// Returns whether something serves the address below <paramref name="root"/>. Iterative, with
    /// an explicit stack, so the depth of the graph does not bound the thread's stack.
    /// </summary>
    private static bool Resolve(MemoryRegion root, ulong rootOffset, int rootDepth, List<RegionStep> steps, bool rootReadOnly)
    {
        var stack = new Stack<Frame>();
        bool? result = Enter(root, rootOffset, rootDepth, rootReadOnly, steps, stack);
        while (stack.Count > 0)
        {
            Frame f = stack.Peek();
            MemoryRegion mr = f.Region;
            if (mr.AliasTarget is { } target)
            {
                ulong inTarget = unchecked(f.Offset + mr.AliasOffset);
                if (!f.Started)
                {
                    f.Started = true;
                    result = Enter(target, inTarget, f.Depth + 1, f.ReadOnly, steps, stack);
                    if (result is null)
                    {
                        continue;
                    }
                }
                bool found = result!.Value;
                steps[f.Step] = new RegionStep(mr, f.Depth, f.Offset, found ? RegionRole.Path : RegionRole.Hidden,
                    $"alias -> '{target.Name}' +0x{inTarget:x}" + (found ? "" : ", nothing there"));
                stack.Pop();
                result = found;
                continue;
            }
            if (result is { } childServed)
            {
                f.Served = childServed;
                result = null;
            }
            IReadOnlyList<MemoryRegion> subs = mr.Subregions;
            bool descended = false;
            while (f.NextChild < subs.Count && !descended)
            {
                MemoryRegion sub = subs[f.NextChild++];
                if (f.Offset < sub.Address || (UInt128)(f.Offset - sub.Address) >= sub.Size)
                {
                    continue;
                }
                if (f.Served)
                {
                    steps.Add(new RegionStep(sub, f.Depth + 1, f.Offset - sub.Address, RegionRole.Hidden, $"priority {sub.Priority}: covered by a region tried before it"));
                    continue;
                }
                if (Enter(sub, f.Offset - sub.Address, f.Depth + 1, f.ReadOnly, steps, stack) is { } served)
                {
                    f.Served = served;
                }
                else
                {
                    descended = true;
                }
            }
            if (descended)
            {
                continue;
            }
            stack.Pop();
            if (f.Served)
            {
                steps[f.Step] = new RegionStep(mr, f.Depth, f.Offset, RegionRole.Path, "container");
                result = true;
            }
            else if (!mr.Terminates)
            {
                steps[f.Step] = new RegionStep(mr, f.Depth, f.Offset, RegionRole.Hidden, "container with nothing at this address");
                result = false;
            }
            else
            {
                steps[f.Step] = new RegionStep(mr, f.Depth, f.Offset, RegionRole.Serves, f.ReadOnly && !mr.ReadOnly ? "serves it, read-only through the path" : "serves it");
                result = true;
            }
        }
        return result!.Value;
    }

    /// <summary>Starts resolving <paramref name="mr"/>: a disabled region is decided at once (returned); otherwise a frame is pushed and null returned.</summary>
    private static bool? Enter(MemoryRegion mr, ulong offset, int depth, bool readOnly, List<RegionStep> steps, Stack<Frame> stack)
    {
        if (!mr.Enabled)
        {
            steps.Add(new RegionStep(mr, depth, offset, RegionRole.Hidden, "disabled"));
            return false;
        }
        steps.Add(default);
        stack.Push(new Frame(mr, offset, depth, readOnly | mr.ReadOnly, steps.Count - 1));
        return null;
    }
}
