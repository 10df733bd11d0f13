using Memspace.Tests.Support;

namespace Memspace.Tests.Architecture;

public class LayeringTests
{
    [Fact]
    public void DumpEdges()
    {
        var g = LayerGraph.Read(typeof(MemorySystem).Assembly.Location, ns => ns == "Memspace" ? "System" : ns.StartsWith("Memspace.", StringComparison.Ordinal) ? ns["Memspace.".Length..].Split('.')[0] : null);
        foreach (var e in g.Edges.OrderBy(e => e.Key.From).ThenBy(e => e.Key.To))
        {
            TestContext.Current.SendDiagnosticMessage($"EDGE {e.Key.From} -> {e.Key.To}   ({e.Value})\n");
            File.AppendAllText("/tmp/edges.txt", $"EDGE {e.Key.From} -> {e.Key.To}   ({e.Value})\n");
        }
    }
}
