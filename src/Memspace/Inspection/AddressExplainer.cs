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
        Resolve(space.Root, address, 0, steps, readOnly: false);
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

    /// <summary>
    /// The renderer's rule for one address: an enabled region covering it is tried; an alias continues
    /// in its target; a container tries its subregions in priority order and the first that renders
    /// something wins; a region with its own contents serves whatever its subregions leave.
    /// Returns whether something serves the address below <paramref name="mr"/>.
    /// </summary>
    private static bool Resolve(MemoryRegion mr, ulong offset, int depth, List<RegionStep> steps, bool readOnly)
    {
        if (!mr.Enabled)
        {
            steps.Add(new RegionStep(mr, depth, offset, RegionRole.Hidden, "disabled"));
            return false;
        }
        readOnly |= mr.ReadOnly;
        if (mr.AliasTarget is { } target)
        {
            int at = steps.Count;
            steps.Add(default);
            ulong inTarget = unchecked(offset + mr.AliasOffset);
            bool found = Resolve(target, inTarget, depth + 1, steps, readOnly);
            steps[at] = new RegionStep(mr, depth, offset, found ? RegionRole.Path : RegionRole.Hidden,
                $"alias -> '{target.Name}' +0x{inTarget:x}" + (found ? "" : ", nothing there"));
            return found;
        }
        int self = steps.Count;
        steps.Add(default);
        bool served = false;
        foreach (MemoryRegion sub in mr.Subregions)
        {
            if (offset < sub.Address || (UInt128)(offset - sub.Address) >= sub.Size)
            {
                continue;
            }
            if (served)
            {
                steps.Add(new RegionStep(sub, depth + 1, offset - sub.Address, RegionRole.Hidden, $"priority {sub.Priority}: covered by a region tried before it"));
                continue;
            }
            served = Resolve(sub, offset - sub.Address, depth + 1, steps, readOnly);
        }
        bool container = !mr.Terminates;
        if (served)
        {
            steps[self] = new RegionStep(mr, depth, offset, RegionRole.Path, "container");
            return true;
        }
        if (container)
        {
            steps[self] = new RegionStep(mr, depth, offset, RegionRole.Hidden, "container with nothing at this address");
            return false;
        }
        steps[self] = new RegionStep(mr, depth, offset, RegionRole.Serves, readOnly && !mr.ReadOnly ? "serves it, read-only through the path" : "serves it");
        return true;
    }
}
