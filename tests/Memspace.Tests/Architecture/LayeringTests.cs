using System.Text.RegularExpressions;
using Memspace.Tests.Support;

namespace Memspace.Tests.Architecture;

/// <summary>
/// The library's layers depend one way: every edge between namespaces in the compiled assembly (read
/// from signatures, base types and IL tokens) must be in the allow-list of docs/ARCHITECTURE.md, the
/// list must have no cycle, and it must not list edges the code no longer has.
/// </summary>
public partial class LayeringTests
{
    [GeneratedRegex(@"```layers\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex LayersBlock();

    private static Dictionary<string, HashSet<string>> AllowList()
    {
        string doc = File.ReadAllText(RepositoryFiles.PathOf("docs/ARCHITECTURE.md"));
        Match m = LayersBlock().Match(doc);
        Assert.True(m.Success, "docs/ARCHITECTURE.md has no ```layers block");
        var allowed = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (string line in m.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split("->");
            Assert.True(parts.Length == 2, $"bad line in the layers block: '{line}'");
            allowed[parts[0].Trim()] = [.. parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        }
        return allowed;
    }

    /// <summary>The layer of a namespace: the root namespace is "System", others their first part after "Memspace.".</summary>
    private static string? LayerOf(string ns)
        => ns == "Memspace" ? "System" : ns.StartsWith("Memspace.", StringComparison.Ordinal) ? ns["Memspace.".Length..].Split('.')[0] : null;

    [Fact]
    public void EveryEdgeIsAllowedAndEveryAllowedEdgeIsUsed()
    {
        Dictionary<string, HashSet<string>> allowed = AllowList();
        LayerGraph graph = LayerGraph.Read(typeof(MemorySystem).Assembly.Location, LayerOf);
        Assert.Empty(graph.UnmappedNamespaces);
        var problems = new List<string>();
        foreach (((string from, string to), string example) in graph.Edges.OrderBy(e => e.Key))
        {
            if (!allowed.TryGetValue(from, out HashSet<string>? targets))
            {
                problems.Add($"layer {from} is not in docs/ARCHITECTURE.md (e.g. {example})");
            }
            else if (!targets.Contains(to))
            {
                problems.Add($"{from} -> {to} is not allowed: {example}");
            }
        }
        foreach ((string from, HashSet<string> targets) in allowed)
        {
            foreach (string to in targets.Where(t => !graph.Edges.ContainsKey((from, t))))
            {
                problems.Add($"{from} -> {to} is allowed in docs/ARCHITECTURE.md but no longer used: remove it");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void TheAllowedGraphHasNoCycle()
    {
        Dictionary<string, HashSet<string>> allowed = AllowList();
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = new Stack<string>();

        void Visit(string layer)
        {
            state[layer] = 1;
            path.Push(layer);
            foreach (string next in allowed.GetValueOrDefault(layer) ?? [])
            {
                Assert.True(allowed.ContainsKey(next), $"{layer} -> {next}: layer {next} has no line of its own");
                int s = state.GetValueOrDefault(next);
                Assert.True(s != 1, $"cycle: {string.Join(" <- ", path)} <- {next}");
                if (s == 0)
                {
                    Visit(next);
                }
            }
            path.Pop();
            state[layer] = 2;
        }

        foreach (string layer in allowed.Keys.Where(l => state.GetValueOrDefault(l) == 0))
        {
            Visit(layer);
        }
        Assert.Empty(allowed["Interop"]);
    }

    [Fact]
    public void TheGraphReaderSeesReferencesInsideMethodBodies()
    {
        // A reference that appears only in IL (a call inside a method body) must count: MemorySystem's
        // commit calls TopologyDiff.Report, and nothing in its signatures names TopologyDiff.
        LayerGraph graph = LayerGraph.Read(typeof(MemorySystem).Assembly.Location, LayerOf);
        Assert.True(graph.Edges.ContainsKey(("System", "Listeners")));
        Assert.True(graph.Edges.ContainsKey(("Kvm", "Interop")));
        Assert.False(graph.Edges.ContainsKey(("Regions", "Rendering")));
    }
}
