using System.Text.Json.Serialization;

namespace Memspace.Json;

/// <summary>
/// The fields every Memspace JSON document starts with: the schema version (<c>memspace/1</c>, see
/// docs/json/memspace.schema.json) and the kind of document.
/// </summary>
internal abstract record JsonDocumentBase(
    [property: JsonPropertyOrder(-1)] string Kind)
{
    /// <summary>The schema version every document carries.</summary>
    public const string SchemaVersion = "memspace/1";

    [JsonPropertyOrder(-2)]
    public string Schema => SchemaVersion;
}
