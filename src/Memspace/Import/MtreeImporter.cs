using Memspace.Regions;

namespace Memspace.Import;

/// <summary>
/// Rebuilds a region graph and its address spaces from QEMU 7.2's <c>info mtree -D</c> output, so a
/// memory map posted in a bug report can be rendered, printed and explained offline.
/// </summary>
/// <remarks>
/// <para>
/// The tree view loses some facts; <see cref="MtreeImportOptions"/> restores them by region name.
/// An <c>i/o</c> region with subregions becomes a pure container, one without subregions an I/O
/// region with no device (every access is rejected). Regions get no owner.
/// </para>
/// <para>
/// A <c>memory-region:</c> section and a region printed in a tree with the same name and the same
/// contents are one object. Alias targets are matched to sections the way QEMU queues them: in
/// print order, each new target is the next section. Among siblings of equal priority, QEMU's
/// subregion order is recovered where the dump shows it (same address: print order is list order);
/// elsewhere the sibling at the higher address is taken to be the more recently added.
/// </para>
/// </remarks>
public static class MtreeImporter
{
    /// <summary>Imports a dump from text.</summary>
    /// <param name="text">The output of <c>info mtree -D</c>.</param>
    /// <param name="options">Facts the dump does not print; null for none.</param>
    /// <param name="systemOptions">Options for the new memory system; by default RAM gets no host memory.</param>
    /// <exception cref="MtreeImportException">The text is not a well-formed dump.</exception>
    public static MemorySystem Import(string text, MtreeImportOptions? options = null, MemorySystemOptions? systemOptions = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        options ??= new MtreeImportOptions();
        MtreeDump dump = MtreeDumpParser.Parse(text);
        MtreeDumpParser.SplitAliasNames(dump);
        return new Builder(dump, options, systemOptions).Build();
    }

    /// <summary>Imports a dump from a file.</summary>
    /// <param name="path">Path of a file holding <c>info mtree -D</c> output.</param>
    /// <param name="options">Facts the dump does not print; null for none.</param>
    /// <param name="systemOptions">Options for the new memory system.</param>
    public static MemorySystem ImportFile(string path, MtreeImportOptions? options = null, MemorySystemOptions? systemOptions = null)
        => Import(File.ReadAllText(path), options, systemOptions);

    private sealed class Builder(MtreeDump dump, MtreeImportOptions options, MemorySystemOptions? systemOptions)
    {
        private static readonly MemoryRegionOps s_noDevice = MemoryRegionOps.Unassigned;

        // Parsed node -> the node that stands for the same region (itself, or the tree node a
        // memory-region section was recognised as).
        private readonly Dictionary<ParsedRegion, ParsedRegion> _canonical = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<ParsedRegion, ParsedRegion> _aliasTarget = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<ParsedRegion, MemoryRegion> _regions = new(ReferenceEqualityComparer.Instance);

        public MemorySystem Build()
        {
            UnifySections();
            MatchAliasTargets();
            var system = new MemorySystem(systemOptions ?? new MemorySystemOptions { AllocateRam = false });
            CreateRegions(system);
            using (system.Transaction())
            {
                Wire();
            }
            foreach ((List<string> names, ParsedRegion root) in dump.Groups)
            {
                foreach (string name in names)
                {
                    system.CreateAddressSpace(_regions[_canonical[root]], name);
                }
            }
            return system;
        }

        /// <summary>
        /// Recognises regions printed more than once: an address-space root that is also mapped inside
        /// another tree (Arm's v7m 'system'), and memory-region sections (alias targets) that are
        /// printed in a tree as well. Same name, same offset and same contents make one region.
        /// </summary>
        private void UnifySections()
        {
            var byName = new Dictionary<string, List<ParsedRegion>>(StringComparer.Ordinal);
            void Index(ParsedRegion tree)
            {
                foreach (ParsedRegion n in tree.SelfAndDescendants())
                {
                    _canonical[n] = n;
                    if (!byName.TryGetValue(n.Name, out List<ParsedRegion>? list))
                    {
                        byName[n.Name] = list = [];
                    }
                    list.Add(n);
                }
            }
            ParsedRegion? FindSame(ParsedRegion copy, bool nestedOnly)
                => byName.TryGetValue(copy.Name, out List<ParsedRegion>? candidates)
                    ? candidates.FirstOrDefault(c => c != copy && (!nestedOnly || c.Parent is not null)
                                                     && c.Address == copy.Start && ParsedRegion.SameShape(c, copy))
                    : null;

            foreach ((_, ParsedRegion root) in dump.Groups)
            {
                Index(root);
            }
            foreach ((_, ParsedRegion root) in dump.Groups)
            {
                if (FindSame(root, nestedOnly: true) is { } nested)
                {
                    MapSame(root, nested);
                }
            }
            foreach (ParsedRegion section in dump.Sections)
            {
                if (FindSame(section, nestedOnly: false) is { } same)
                {
                    MapSame(section, same);
                }
                else
                {
                    Index(section);
                }
            }
            // A copy may have been matched with another copy: follow the chain to the original.
            foreach (ParsedRegion n in _canonical.Keys.ToList())
            {
                ParsedRegion r = n;
                while (_canonical[r] != r)
                {
                    r = _canonical[r];
                }
                _canonical[n] = r;
            }
        }

        private void MapSame(ParsedRegion copy, ParsedRegion original)
        {
            _canonical[copy] = original;
            for (int i = 0; i < copy.Children.Count; i++)
            {
                MapSame(copy.Children[i], original.Children[i]);
            }
        }

        /// <summary>
        /// Replays QEMU's print order: each alias whose target is not yet queued queues it, and the
        /// queue is the sequence of memory-region sections.
        /// </summary>
        private void MatchAliasTargets()
        {
            var claimed = new List<ParsedRegion>();
            int next = 0;
            void Visit(ParsedRegion node)
            {
                if (node.AliasTarget is { } name)
                {
                    ParsedRegion? target = claimed.FirstOrDefault(s => s.Name == name);
                    if (target is null)
                    {
                        if (next >= dump.Sections.Count)
                        {
                            throw new MtreeImportException(node.Line, $"alias '{node.Name}' points at '{name}', but the dump has no 'memory-region: {name}' section for it");
                        }
                        target = dump.Sections[next];
                        if (target.Name != name)
                        {
                            throw new MtreeImportException(node.Line, $"alias '{node.Name}' points at '{name}', but the next 'memory-region:' section (line {target.Line - 1}) is '{target.Name}'; QEMU prints a section for each new alias target in order");
                        }
                        claimed.Add(target);
                        next++;
                    }
                    _aliasTarget[node] = target;
                }
                foreach (ParsedRegion child in node.Children)
                {
                    Visit(child);
                }
            }
            foreach ((_, ParsedRegion root) in dump.Groups)
            {
                Visit(root);
            }
            for (int i = 0; i < claimed.Count; i++)
            {
                Visit(claimed[i]);
            }
            if (next < dump.Sections.Count)
            {
                ParsedRegion extra = dump.Sections[next];
                throw new MtreeImportException(extra.Line - 1, $"section 'memory-region: {extra.Name}' is not the target of any alias printed before it");
            }
        }

        private void CreateRegions(MemorySystem system)
        {
            var pendingAliases = new List<ParsedRegion>();
            foreach (ParsedRegion node in _canonical.Where(kv => kv.Key == kv.Value).Select(kv => kv.Key))
            {
                if (node.IsAlias)
                {
                    pendingAliases.Add(node);
                    continue;
                }
                UInt128 size = node.Size(options.Empty);
                _regions[node] = node.Type switch
                {
                    "ram" => MemoryRegion.CreateRam(system, node.Name, size),
                    "rom" => MemoryRegion.CreateRom(system, node.Name, size),
                    "romd" => MemoryRegion.CreateRomDevice(system, node.Name, size, s_noDevice),
                    "ramd" => MemoryRegion.CreateRamDevice(system, node.Name, size),
                    _ => IsContainer(node)
                        ? MemoryRegion.CreateContainer(system, node.Name, size)
                        : MemoryRegion.CreateIo(system, node.Name, size, s_noDevice),
                };
            }
            // Aliases may point at aliases: create each once its target exists.
            while (pendingAliases.Count > 0)
            {
                int before = pendingAliases.Count;
                for (int i = pendingAliases.Count - 1; i >= 0; i--)
                {
                    ParsedRegion alias = pendingAliases[i];
                    ParsedRegion target = _canonical[_aliasTarget[alias]];
                    if (_regions.TryGetValue(target, out MemoryRegion? t))
                    {
                        _regions[alias] = MemoryRegion.CreateAlias(system, alias.Name, t, alias.AliasStart, alias.Size(options.Empty));
                        pendingAliases.RemoveAt(i);
                    }
                }
                if (pendingAliases.Count == before)
                {
                    ParsedRegion stuck = pendingAliases[0];
                    throw new MtreeImportException(stuck.Line, $"alias '{stuck.Name}' is part of a cycle of aliases");
                }
            }
        }

        private bool IsContainer(ParsedRegion node)
            => node.Children.Count > 0 ? !options.Terminating.Contains(node.Name) : options.Containers.Contains(node.Name);

        private void Wire()
        {
            foreach (ParsedRegion node in _regions.Keys)
            {
                MemoryRegion mr = _regions[node];
                // QEMU's list order is priority descending, newest first. The dump prints siblings by
                // address, then priority, then list order; so at one address print order is list
                // order, and across addresses the higher address is taken as the newer.
                List<(ParsedRegion Child, int Index)> children = node.Children.Select((c, i) => (c, i)).ToList();
                List<(ParsedRegion Child, int Index)> listOrder = children
                    .OrderByDescending(x => x.Child.Priority)
                    .ThenByDescending(x => x.Child.Address)
                    .ThenBy(x => x.Index)
                    .ToList();
                for (int i = listOrder.Count - 1; i >= 0; i--)
                {
                    ParsedRegion child = listOrder[i].Child;
                    try
                    {
                        mr.AddSubregion(child.Address, _regions[_canonical[child]], child.Priority);
                    }
                    catch (MemoryTopologyException e)
                    {
                        throw new MtreeImportException(child.Line, e.Message);
                    }
                }
                if (node.Disabled)
                {
                    mr.SetEnabled(false);
                }
                if (options.ReadOnly.Contains(node.Name))
                {
                    mr.SetReadOnly(true);
                }
                if (node.NonVolatile)
                {
                    mr.SetNonVolatile(true);
                }
            }
        }
    }
}
