using System.Buffers.Binary;
using System.Text.Json;
using Memspace.Machines;

namespace Memspace.Migration;

/// <summary>
/// A snapshot's <c>manifest.json</c>: format and version, the machine (type and build options), page and
/// chunk size, one entry per RAMBlock file with its checksums, and the state file with its checksum.
/// Written last when saving, so a directory without one is no snapshot.
/// </summary>
public sealed record SnapshotManifest
{
    /// <summary>The manifest's name inside a snapshot directory.</summary>
    public const string FileName = "manifest.json";

    /// <summary>The state file's name.</summary>
    public const string StateFileName = "state.bin";

    /// <summary>What the "format" field holds.</summary>
    public const string Format = "memspace-snapshot";

    /// <summary>The version this Memspace writes and reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Bytes per checksummed chunk of a RAM file (1 MiB).</summary>
    public const int ChunkSize = 1 << 20;

    /// <summary>Format version.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Machine type.</summary>
    public required string Machine { get; init; }

    /// <summary>Guest RAM size.</summary>
    public required ulong RamSize { get; init; }

    /// <summary><see cref="MachineOptions.Smm"/>.</summary>
    public required bool Smm { get; init; }

    /// <summary><see cref="MachineOptions.PlatformDevices"/>.</summary>
    public required bool PlatformDevices { get; init; }

    /// <summary><see cref="MachineOptions.KernelIrqchip"/>.</summary>
    public required bool KernelIrqchip { get; init; }

    /// <summary><see cref="MachineOptions.Serial"/>.</summary>
    public required bool Serial { get; init; }

    /// <summary><see cref="MachineOptions.DemoDevice"/>.</summary>
    public required bool DemoDevice { get; init; }

    /// <summary><see cref="MachineOptions.DebugConsole"/>.</summary>
    public required bool DebugConsole { get; init; }

    /// <summary>Size of the firmware block ("pc.bios"), so the machine can be rebuilt with an image of that size.</summary>
    public required ulong FirmwareSize { get; init; }

    /// <summary>Target page size.</summary>
    public required ulong PageSize { get; init; }

    /// <summary>The RAMBlock files, in RAMList order.</summary>
    public required IReadOnlyList<SnapshotBlockFile> Blocks { get; init; }

    /// <summary>Bytes in the state file.</summary>
    public required long StateSize { get; init; }

    /// <summary>CRC-32C of the state file.</summary>
    public required uint StateCrc32C { get; init; }

    /// <summary>The options a machine must be built with to take this snapshot, on top of <paramref name="baseOptions"/> (accelerator, timeline).</summary>
    /// <param name="baseOptions">Options the snapshot does not decide.</param>
    public MachineOptions MachineOptions(MachineOptions baseOptions)
    {
        ArgumentNullException.ThrowIfNull(baseOptions);
        return baseOptions with
        {
            RamSize = RamSize,
            Smm = Smm,
            PlatformDevices = PlatformDevices,
            KernelIrqchip = KernelIrqchip,
            Serial = Serial,
            DemoDevice = DemoDevice,
            DebugConsole = DebugConsole,
        };
    }

    /// <summary>The file-level checksum of a RAM file from its chunk checksums.</summary>
    /// <param name="chunks">Chunk CRCs in order.</param>
    public static uint FileChecksum(IReadOnlyList<uint> chunks)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        var bytes = new byte[chunks.Count * 4];
        for (int i = 0; i < chunks.Count; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), chunks[i]);
        }
        return Crc32C.Compute(bytes);
    }

    /// <summary>The manifest as JSON.</summary>
    public byte[] ToJson()
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("version", Version);
            w.WriteString("machine", Machine);
            w.WriteNumber("ramSize", RamSize);
            w.WriteStartObject("options");
            w.WriteBoolean("smm", Smm);
            w.WriteBoolean("platformDevices", PlatformDevices);
            w.WriteBoolean("kernelIrqchip", KernelIrqchip);
            w.WriteBoolean("serial", Serial);
            w.WriteBoolean("demoDevice", DemoDevice);
            w.WriteBoolean("debugConsole", DebugConsole);
            w.WriteNumber("firmwareSize", FirmwareSize);
            w.WriteEndObject();
            w.WriteNumber("pageSize", PageSize);
            w.WriteNumber("chunkSize", ChunkSize);
            w.WriteStartArray("blocks");
            foreach (SnapshotBlockFile b in Blocks)
            {
                w.WriteStartObject();
                w.WriteString("id", b.IdStr);
                w.WriteNumber("usedLength", b.UsedLength);
                w.WriteString("file", b.File);
                w.WriteNumber("crc32c", b.Crc32C);
                w.WriteStartArray("chunks");
                foreach (uint c in b.Chunks)
                {
                    w.WriteNumberValue(c);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("state");
            w.WriteString("file", StateFileName);
            w.WriteNumber("size", StateSize);
            w.WriteNumber("crc32c", StateCrc32C);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a manifest, refusing anything but this format's version with every field in range.</summary>
    /// <param name="json">The file's bytes.</param>
    /// <exception cref="MigrationException">Not a valid manifest; the message names the field.</exception>
    public static SnapshotManifest Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new MigrationException($"snapshot manifest is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            try
            {
                JsonElement root = doc.RootElement;
                string format = Str(root, "format");
                if (format != Format)
                {
                    throw new MigrationException($"snapshot manifest: format is '{format}', not '{Format}'");
                }
                int version = root.GetProperty("version").GetInt32();
                if (version != CurrentVersion)
                {
                    throw new MigrationException($"snapshot manifest: version {version}; this Memspace reads version {CurrentVersion}");
                }
                JsonElement options = root.GetProperty("options");
                ulong chunk = root.GetProperty("chunkSize").GetUInt64();
                if (chunk != ChunkSize)
                {
                    throw new MigrationException($"snapshot manifest: chunk size {chunk}; version {CurrentVersion} uses {ChunkSize}");
                }
                var blocks = new List<SnapshotBlockFile>();
                foreach (JsonElement b in root.GetProperty("blocks").EnumerateArray())
                {
                    string file = Str(b, "file");
                    if (file.Length == 0 || file.Contains('/') || file.Contains('\\') || file is "." or "..")
                    {
                        throw new MigrationException($"snapshot manifest: block file name '{file}' is not a plain file name");
                    }
                    ulong used = b.GetProperty("usedLength").GetUInt64();
                    var chunks = b.GetProperty("chunks").EnumerateArray().Select(c => c.GetUInt32()).ToList();
                    // Rounded up without overflow: a hostile usedLength near 2^64 must not wrap to zero chunks.
                    if ((ulong)chunks.Count != (used / ChunkSize) + (used % ChunkSize == 0 ? 0UL : 1UL))
                    {
                        throw new MigrationException($"snapshot manifest: block '{Str(b, "id")}' has {chunks.Count} chunk checksums for 0x{used:x} bytes");
                    }
                    blocks.Add(new SnapshotBlockFile(Str(b, "id"), used, file, b.GetProperty("crc32c").GetUInt32(), chunks));
                }
                ulong firmware = options.GetProperty("firmwareSize").GetUInt64();
                if (firmware > 16 << 20 || firmware % 65536 != 0)
                {
                    throw new MigrationException($"snapshot manifest: firmware size {firmware} is not a multiple of 64 KiB up to 16 MiB");
                }
                ulong pageSize = root.GetProperty("pageSize").GetUInt64();
                if (pageSize is < 4096 or > ChunkSize || !ulong.IsPow2(pageSize))
                {
                    throw new MigrationException($"snapshot manifest: page size {pageSize} is not a power of two from 4 KiB to the {ChunkSize}-byte chunk");
                }
                JsonElement state = root.GetProperty("state");
                if (Str(state, "file") != StateFileName)
                {
                    throw new MigrationException($"snapshot manifest: state file is '{Str(state, "file")}', not '{StateFileName}'");
                }
                return new SnapshotManifest
                {
                    Version = version,
                    Machine = Str(root, "machine"),
                    RamSize = root.GetProperty("ramSize").GetUInt64(),
                    Smm = options.GetProperty("smm").GetBoolean(),
                    PlatformDevices = options.GetProperty("platformDevices").GetBoolean(),
                    KernelIrqchip = options.GetProperty("kernelIrqchip").GetBoolean(),
                    Serial = options.GetProperty("serial").GetBoolean(),
                    DemoDevice = options.GetProperty("demoDevice").GetBoolean(),
                    DebugConsole = options.GetProperty("debugConsole").GetBoolean(),
                    FirmwareSize = firmware,
                    PageSize = pageSize,
                    Blocks = blocks,
                    StateSize = state.GetProperty("size").GetInt64(),
                    StateCrc32C = state.GetProperty("crc32c").GetUInt32(),
                };
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new MigrationException($"snapshot manifest: a field is missing or has the wrong type ({e.Message})");
            }
        }
    }

    private static string Str(JsonElement e, string name)
        => e.GetProperty(name).GetString() ?? throw new MigrationException($"snapshot manifest: '{name}' is null");
}
