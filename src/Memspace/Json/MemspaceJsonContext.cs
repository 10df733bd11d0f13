using System.Text.Json.Serialization;

namespace Memspace.Json;

/// <summary>
/// The source-generated serializers of every document (no reflection, so the writers work trimmed
/// and NativeAOT-compiled).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MtreeDocument))]
[JsonSerializable(typeof(FlatViewDocument))]
[JsonSerializable(typeof(RamBlockDocument))]
[JsonSerializable(typeof(SlotsDocument))]
[JsonSerializable(typeof(ExplainDocument))]
[JsonSerializable(typeof(RunDocument))]
[JsonSerializable(typeof(DiffDocument))]
internal sealed partial class MemspaceJsonContext : JsonSerializerContext;
