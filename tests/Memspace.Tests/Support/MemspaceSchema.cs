using System.Text.Json;
using Json.Schema;

namespace Memspace.Tests.Support;

/// <summary>docs/json/memspace.schema.json, loaded once, and a check that reports the first errors it finds.</summary>
internal static class MemspaceSchema
{
    private static readonly Lazy<JsonSchema> s_schema = new(() => JsonSchema.FromFile(RepositoryFiles.PathOf("docs/json/memspace.schema.json")));

    /// <summary>Null when the document is valid, otherwise the failing locations and messages.</summary>
    public static string? Errors(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        EvaluationResults results = s_schema.Value.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return null;
        }
        IEnumerable<string> errors = (results.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}"))
            .Take(12);
        return string.Join("\n", errors);
    }

    /// <summary>Fails the test when the document does not match the schema.</summary>
    public static void AssertValid(string json)
    {
        string? errors = Errors(json);
        Assert.True(errors is null, "document does not match docs/json/memspace.schema.json:\n" + errors);
    }
}
