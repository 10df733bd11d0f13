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
        using var reader = new StringReader(text);
        return Import(reader, options, systemOptions);
    }

    /// <summary>Imports a dump read from <paramref name="reader"/> (line by line; nothing but the current line is held as text).</summary>
    /// <param name="reader">The output of <c>info mtree -D</c>.</param>
    /// <param name="options">Facts the dump does not print; null for none.</param>
    /// <param name="systemOptions">Options for the new memory system; by default RAM gets no host memory.</param>
    /// <exception cref="MtreeImportException">The text is not a dump QEMU 7.2 could have printed.</exception>
    public static MemorySystem Import(TextReader reader, MtreeImportOptions? options = null, MemorySystemOptions? systemOptions = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        options ??= new MtreeImportOptions();
        MtreeDump dump = MtreeDumpParser.Parse(reader);
        MtreeDumpParser.SplitAliasNames(dump);
        return new Builder(dump, options, systemOptions).Build();
    }

    /// <summary>Imports a dump from a file.</summary>
    /// <param name="path">Path of a file holding <c>info mtree -D</c> output.</param>
    /// <param name="options">Facts the dump does not print; null for none.</param>
    /// <param name="systemOptions">Options for the new memory system.</param>
    /// <exception cref="MtreeImportException">The file is missing, is a directory, cannot be read, or is not a dump QEMU 7.2 could have printed; the message starts with the file name.</exception>
    public static MemorySystem ImportFile(string path, MtreeImportOptions? options = null, MemorySystemOptions? systemOptions = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            throw new MtreeImportException(path, 0, "is a directory, not a dump");
        }
        if (!File.Exists(path))
        {
            throw new MtreeImportException(path, 0, "no such file");
        }
        try
        {
            using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            return Import(reader, options, systemOptions);
        }
        catch (MtreeImportException e)
        {
            throw e.InFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MtreeImportException(path, 0, $"cannot read it: {e.Message}");
        }
    }

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
            try
            {
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
                CheckPrintsBack(system);
                return system;
            }
            catch
            {
                system.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Prints the rebuilt graph as QEMU would and compares it with the dump, line by line (empty
        /// lines aside): whatever the dump says that the graph cannot say (an end below the start, an
        /// alias window that does not match the alias's size, an overflow marker on a range that does
        /// not wrap, siblings out of QEMU's order) is refused at the first line that differs, instead of
        /// being silently rewritten.
        /// </summary>
        private void CheckPrintsBack(MemorySystem system)
        {
            string printed = Printing.MtreePrinter.ToText(system, owner: false, disabled: true);
            using var printedLines = ((IEnumerable<string>)printed.Split('\n')).Where(l => l.Length > 0).GetEnumerator();
            foreach ((int lineNo, string text) in dump.Lines)
            {
                if (!printedLines.MoveNext())
                {
                    throw new MtreeImportException(lineNo, "QEMU would not print this line: the graph the dump describes ends before it");
                }
                if (printedLines.Current != text)
                {
                    throw new MtreeImportException(lineNo, $"QEMU would print this line as '{printedLines.Current}' for the graph the dump describes; the dump cannot come from QEMU 7.2 as it is");
                }
            }
            if (printedLines.MoveNext())
            {
                throw new MtreeImportException(0, $"the dump ends early: QEMU would go on with '{printedLines.Current}'");
            }
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
            // QEMU queues each alias target once, by identity: two sections are always two regions,
            // so a section is only ever the same as a region printed inside a tree.
            var sectionRoots = new HashSet<ParsedRegion>(dump.Sections, ReferenceEqualityComparer.Instance);
            ParsedRegion? FindSame(ParsedRegion copy, bool nestedOnly)
                => byName.TryGetValue(copy.Name, out List<ParsedRegion>? candidates)
                    ? candidates.FirstOrDefault(c => c != copy && (!nestedOnly || c.Parent is not null) && !sectionRoots.Contains(c)
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
            var stack = new Stack<(ParsedRegion Copy, ParsedRegion Original)>();
            stack.Push((copy, original));
            while (stack.Count > 0)
            {
                (ParsedRegion c, ParsedRegion o) = stack.Pop();
                _canonical[c] = o;
                for (int i = 0; i < c.Children.Count; i++)
                {
                    stack.Push((c.Children[i], o.Children[i]));
                }
            }
        }

        /// <summary>
        /// Replays QEMU's print order: each alias whose target is not yet queued queues it, and the
        /// queue is the sequence of memory-region sections.
        /// </summary>
        private void MatchAliasTargets()
        {
            var claimed = new List<(ParsedRegion Section, int Depth)>();
            int next = 0;
            // Iterative, in print order; a node's depth counts the levels of the aliases that lead to
            // its section, so an alias chain cannot nest deeper than the parser lets a tree nest.
            void Visit(ParsedRegion top, int baseDepth)
            {
                var stack = new Stack<ParsedRegion>();
                stack.Push(top);
                while (stack.Count > 0)
                {
                    ParsedRegion node = stack.Pop();
                    int depth = baseDepth + node.Level;
                    if (depth > MtreeDumpParser.MaxDepth)
                    {
                        throw new MtreeImportException(node.Line, $"regions nested {depth} levels deep, counting the levels aliases lead through; at most {MtreeDumpParser.MaxDepth} are accepted");
                    }
                    if (node.AliasTarget is { } name)
                    {
                        // Regions may share a name (two PCIe root ports' "pci_bridge_pci"). An alias to
                        // a name whose next unprinted section has that name is taken to show a new
                        // region; otherwise it shows the last region of that name already queued.
                        // Claiming as early as possible finds an order whenever one exists.
                        ParsedRegion? target = next < dump.Sections.Count && dump.Sections[next].Name == name
                            ? null
                            : claimed.FindLast(s => s.Section.Name == name).Section;
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
                            claimed.Add((target, depth));
                            next++;
                        }
                        _aliasTarget[node] = target;
                    }
                    for (int i = node.Children.Count - 1; i >= 0; i--)
                    {
                        stack.Push(node.Children[i]);
                    }
                }
            }
            foreach ((_, ParsedRegion root) in dump.Groups)
            {
                Visit(root, 0);
            }
            for (int i = 0; i < claimed.Count; i++)
            {
                Visit(claimed[i].Section, claimed[i].Depth);
            }
            if (next < dump.Sections.Count)
            {
                ParsedRegion extra = dump.Sections[next];
                throw new MtreeImportException(extra.Line - 1, $"section 'memory-region: {extra.Name}' is not the target of any alias printed before it");
            }
        }

        /// <summary>Runs <paramref name="create"/>, turning the library's refusal into an import error on <paramref name="node"/>'s line.</summary>
        private static T OnLine<T>(ParsedRegion node, Func<T> create)
        {
            try
            {
                return create();
            }
            catch (Exception e) when (e is ArgumentException or Core.MemspaceException)
            {
                string message = e is ArgumentOutOfRangeException { ActualValue: not null } range
                    ? range.Message.Split('\n')[0].Replace($" (Parameter '{range.ParamName}')", "", StringComparison.Ordinal)
                    : e.Message;
                throw new MtreeImportException(node.Line, message);
            }
        }

        private void CreateRegions(MemorySystem system)
        {
            var pendingAliases = new List<ParsedRegion>();
            List<ParsedRegion> nodes = [.. _canonical.Where(kv => kv.Key == kv.Value).Select(kv => kv.Key).OrderBy(n => n.Line)];
            // QEMU names a device's RAMBlock "qdev-path/name"; the dump prints no owners, so RAM-backed
            // regions that share a name (two VGA cards' "vga.vram") get blocks "dev1/NAME", "dev2/NAME"...
            // in print order. A name used once keeps the plain id.
            var ramNames = nodes.Where(n => !n.IsAlias && n.Type != "i/o").GroupBy(n => n.Name, StringComparer.Ordinal)
                .Where(g => g.Count() > 1)
                .ToDictionary(g => g.Key, _ => 0, StringComparer.Ordinal);
            foreach (ParsedRegion node in nodes)
            {
                if (node.IsAlias)
                {
                    pendingAliases.Add(node);
                    continue;
                }
                UInt128 size = node.Size(options.Empty);
                Ram.RamBlockOptions ram = Ram.RamBlockOptions.Default;
                if (ramNames.TryGetValue(node.Name, out int seen))
                {
                    ramNames[node.Name] = ++seen;
                    ram = new Ram.RamBlockOptions { IdPath = $"dev{seen}" };
                }
                _regions[node] = OnLine(node, () => node.Type switch
                {
                    "ram" => MemoryRegion.CreateRam(system, node.Name, size, ram: ram),
                    "rom" => MemoryRegion.CreateRom(system, node.Name, size, ram: ram),
                    "romd" => MemoryRegion.CreateRomDevice(system, node.Name, size, s_noDevice, ram: ram),
                    "ramd" => MemoryRegion.CreateRamDevice(system, node.Name, size),
                    _ => IsContainer(node)
                        ? MemoryRegion.CreateContainer(system, node.Name, size)
                        : MemoryRegion.CreateIo(system, node.Name, size, s_noDevice),
                });
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
                        _regions[alias] = OnLine(alias, () => MemoryRegion.CreateAlias(system, alias.Name, t, alias.AliasStart, alias.Size(options.Empty)));
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
                    catch (Core.MemspaceException e)
                    {
                        throw new MtreeImportException(child.Line, e.Message);
                    }
                }
                OnLine(node, () =>
                {
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
                    return 0;
                });
            }
        }
    }
}
