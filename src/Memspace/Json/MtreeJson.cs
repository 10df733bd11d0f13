using Memspace.Printing;
using Memspace.Regions;

namespace Memspace.Json;

/// <summary>The region graph (<c>info mtree -D -o</c>) as data: address spaces and every region they reach.</summary>
internal sealed record MtreeDocument(IReadOnlyList<AddressSpaceJson> AddressSpaces, IReadOnlyList<RegionJson> Regions) : JsonDocumentBase("mtree");

/// <summary>An address space and the id of its root region.</summary>
internal sealed record AddressSpaceJson(string Name, int Root);

/// <summary>
/// One region. <c>Container</c> is the id of the region it is mapped in (null for roots and
/// unmapped alias targets); <c>Address</c> its offset there; <c>Start</c> its address as
/// <c>info mtree</c> prints it (from the top of its tree); <c>Path</c> the names from that top,
/// joined by '/'.
/// </summary>
internal sealed record RegionJson(
    int Id,
    string Name,
    string Path,
    string Type,
    string Kind,
    int? Container,
    string Address,
    string Start,
    string Size,
    int Priority,
    bool Enabled,
    bool ReadOnly,
    bool NonVolatile,
    AliasJson? Alias,
    OwnerJson? Owner);

/// <summary>What an alias shows: the target's id and name and the offset into it.</summary>
internal sealed record AliasJson(int Target, string TargetName, string Offset);

/// <summary>A region's owner (QOM object).</summary>
internal sealed record OwnerJson(string Type, string? Path, string? Id, bool Device);

/// <summary>Builds <see cref="MtreeDocument"/>s.</summary>
internal static class MtreeJson
{
    /// <summary>Walks the trees of all address spaces, then the alias targets, in <c>info mtree</c>'s order, without recursion.</summary>
    public static MtreeDocument Build(MemorySystem system)
    {
        lock (system.TopologyLock)
        {
            var ids = new Dictionary<MemoryRegion, int>(ReferenceEqualityComparer.Instance);
            var regions = new List<RegionJson>();
            var tops = new List<MemoryRegion>();
            foreach (AddressSpace space in system.AddressSpaces)
            {
                tops.Add(space.Root);
            }
            var pendingAliases = new List<(int Id, MemoryRegion Alias)>();
            for (int t = 0; t < tops.Count; t++)
            {
                // A region that is mapped inside another tree is listed under that tree's top.
                MemoryRegion start = tops[t];
                while (start.Container is { } outer)
                {
                    start = outer;
                }
                if (ids.ContainsKey(start))
                {
                    continue;
                }
                var stack = new Stack<(MemoryRegion Region, int? Parent, string Path, ulong Base)>();
                stack.Push((start, null, "", 0));
                while (stack.Count > 0)
                {
                    (MemoryRegion mr, int? parent, string parentPath, ulong baseAddr) = stack.Pop();
                    if (ids.ContainsKey(mr))
                    {
                        continue;
                    }
                    int id = regions.Count;
                    ids[mr] = id;
                    string path = parentPath.Length == 0 ? mr.Name : parentPath + "/" + mr.Name;
                    ulong abs = parent is null ? 0 : unchecked(baseAddr + mr.Address);
                    var json = new RegionJson(
                        id, mr.Name, path, MtreePrinter.TypeName(mr), KindName(mr.Kind), parent,
                        JsonHex.Of(mr.Address), JsonHex.Of(abs), JsonHex.Of(mr.Size), mr.Priority, mr.Enabled,
                        mr.ReadOnly, mr.NonVolatile, null, Owner(mr.Owner));
                    regions.Add(json);
                    if (mr.AliasTarget is { } target)
                    {
                        pendingAliases.Add((id, mr));
                        tops.Add(target);
                    }
                    // Print order: by address, higher priority first; pushed in reverse for the stack.
                    MemoryRegion[] children = mr.Subregions.OrderBy(static r => r.Address).ThenByDescending(static r => r.Priority).ToArray();
                    for (int i = children.Length - 1; i >= 0; i--)
                    {
                        stack.Push((children[i], id, path, abs));
                    }
                }
            }
            foreach ((int id, MemoryRegion alias) in pendingAliases)
            {
                MemoryRegion target = alias.AliasTarget!;
                regions[id] = regions[id] with { Alias = new AliasJson(ids[target], target.Name, JsonHex.Of(alias.AliasOffset)) };
            }
            var spaces = system.AddressSpaces.Select(s => new AddressSpaceJson(s.Name, ids[s.Root])).ToList();
            return new MtreeDocument(spaces, regions);
        }
    }

    internal static OwnerJson? Owner(MemoryRegionOwner? owner)
        => owner is null ? null : new OwnerJson(owner.TypeName, owner.CanonicalPath, owner.Id, owner.IsDevice);

    internal static string KindName(MemoryRegionKind kind) => kind switch
    {
        MemoryRegionKind.Container => "container",
        MemoryRegionKind.Io => "io",
        MemoryRegionKind.Reservation => "reservation",
        MemoryRegionKind.Ram => "ram",
        MemoryRegionKind.Rom => "rom",
        MemoryRegionKind.RomDevice => "romDevice",
        MemoryRegionKind.RamDevice => "ramDevice",
        _ => "alias",
    };
}
