using Memspace.Interop;
using Memspace.Listeners;
using Memspace.Regions;

namespace Memspace.Unicorn;

/// <summary>
/// The "unicorn-memory" listener: Unicorn's counterpart of KVM's "kvm-memory". It keeps the sections of
/// the memory address space and, at each commit, works out the mapping the view needs and hands it to
/// the engine, which applies the difference (removals first):
/// <list type="bullet">
/// <item>the page-aligned inside of each RAM or ROM section becomes <c>uc_mem_map_ptr</c> of its
/// RAMBlock's host memory, read-only for ROM and read-only sections, cut at 1 MiB so that a PAM change
/// remaps a little RAM rather than all of it (Unicorn's unmap cost grows with the size);</item>
/// <item>every other page a section touches becomes part of a <c>uc_mmio_map</c> window dispatched
/// through the address space, so MMIO, sub-page sections and RAM under dirty logging all work;</item>
/// <item>pages nothing claims stay unmapped until the guest touches them (see <see cref="UnicornMappingKind.Unassigned"/>).</item>
/// </list>
/// </summary>
public sealed class UnicornMemoryListener : MemoryListener
{
    /// <summary>Unicorn's page size.</summary>
    public const ulong PageSize = 0x1000;

    /// <summary>RAM mappings are cut at this address, so that PAM changes below it (which merge and split the RAM section that crosses it) never remap the RAM above it.</summary>
    public const ulong RamChunk = 1UL << 20;

    /// <summary>Guest-physical addresses from here up are not given to Unicorn (its x86 physical address width is 52 bits).</summary>
    public const ulong AddressLimit = 1UL << 52;

    private readonly UnicornAccelerator _accel;
    private readonly SortedDictionary<ulong, Section> _sections = [];

    internal UnicornMemoryListener(UnicornAccelerator accel) : base("unicorn-memory", ListenerPriority.Accel)
    {
        _accel = accel;
    }

    /// <inheritdoc/>
    public override void RegionAdd(in MemoryRegionSection section)
    {
        if (section.Region is { } region && section.Size != 0)
        {
            _sections[section.OffsetWithinAddressSpace] = new Section(section.OffsetWithinAddressSpace, section.End, region, section.OffsetWithinRegion, section.ReadOnly);
        }
    }

    /// <inheritdoc/>
    public override void RegionDel(in MemoryRegionSection section)
    {
        if (_sections.TryGetValue(section.OffsetWithinAddressSpace, out Section? s) && s.Region == section.Region)
        {
            _sections.Remove(section.OffsetWithinAddressSpace);
        }
    }

    /// <inheritdoc/>
    public override void Commit()
        => _accel.Engine.SetDesired(ComputeMappings(_sections.Values, _accel.System.Options.HonourSectionReadOnly));

    /// <summary>The mapping a set of sections needs (sorted by address, not overlapping).</summary>
    internal static List<UnicornMapping> ComputeMappings(IEnumerable<Section> sections, bool honourSectionReadOnly)
    {
        var result = new List<UnicornMapping>();
        var windows = new List<(ulong Start, ulong End, string Name)>();
        foreach (Section s in sections)
        {
            if (s.Start >= AddressLimit)
            {
                continue;
            }
            ulong end = s.End > AddressLimit ? AddressLimit : (ulong)s.End;
            MemoryRegion mr = s.Region;
            ulong firstPage = s.Start & ~(PageSize - 1);
            ulong lastPageEnd = AlignUp(end);
            bool direct = (mr.IsRam && !mr.IsRamDevice || mr.IsRomd) && mr.RamBlock is { Host: not 0 } && mr.DirtyLogMask == 0;
            ulong inStart = AlignUp(s.Start), inEnd = end & ~(PageSize - 1);
            nint host = direct ? mr.RamBlock!.Host + (nint)(s.OffsetInRegion + (inStart - s.Start)) : 0;
            if (!direct || inStart >= inEnd || host % (nint)PageSize != 0)
            {
                windows.Add((firstPage, lastPageEnd, mr.Name));
                continue;
            }
            bool readOnly = mr.ReadOnly || mr.IsRomd || (honourSectionReadOnly && s.ReadOnly);
            int perms = readOnly ? UnicornAbi.ProtRead | UnicornAbi.ProtExec : UnicornAbi.ProtAll;
            for (ulong a = inStart; a < inEnd;)
            {
                ulong next = a < RamChunk ? Math.Min(inEnd, RamChunk) : inEnd;
                result.Add(new UnicornMapping(UnicornMappingKind.Ram, a, next - a, perms, host + (nint)(a - inStart), mr.Name) { Block = mr.RamBlock });
                a = next;
            }
            if (firstPage < inStart)
            {
                windows.Add((firstPage, inStart, mr.Name));
            }
            if (inEnd < lastPageEnd)
            {
                windows.Add((inEnd, lastPageEnd, mr.Name));
            }
        }
        // Pages shared by several sections become one window that serves them all.
        windows.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = 0; i < windows.Count;)
        {
            (ulong start, ulong wend, string name) = windows[i];
            int j = i + 1;
            while (j < windows.Count && windows[j].Start < wend)
            {
                wend = Math.Max(wend, windows[j].End);
                if (!name.Split('+').Contains(windows[j].Name))
                {
                    name += "+" + windows[j].Name;
                }
                j++;
            }
            result.Add(new UnicornMapping(UnicornMappingKind.Mmio, start, wend - start, 0, 0, name));
            i = j;
        }
        result.Sort((a, b) => a.Start.CompareTo(b.Start));
        return result;
    }

    private static ulong AlignUp(UInt128 a) => (ulong)UInt128.Min((a + PageSize - 1) & ~(UInt128)(PageSize - 1), ulong.MaxValue & ~(PageSize - 1));

    /// <summary>What the listener keeps of a section (never the view it came from).</summary>
    internal sealed record Section(ulong Start, UInt128 End, MemoryRegion Region, ulong OffsetInRegion, bool ReadOnly);
}
