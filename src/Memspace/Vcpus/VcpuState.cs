using System.Buffers.Binary;
using System.Text;

namespace Memspace.Vcpus;

/// <summary>
/// A vCPU's saved state: which accelerator wrote it, the vCPU index and a list of named parts, each an
/// opaque byte blob the accelerator interprets (see <see cref="IVcpuStateBackend"/>). It serializes to a
/// versioned, checksummed byte stream (<see cref="Write"/>, <see cref="Read"/>). Reading treats the
/// stream as hostile: every length is bounded before anything is allocated, each part carries its own
/// CRC-32 and the whole record a final one, and any defect raises a <see cref="VcpuStateException"/>
/// naming the part.
/// </summary>
/// <remarks>
/// Layout (little-endian): magic "MSVCPUST"; u32 version; kind (u8 length, ASCII); u32 vCPU index;
/// u32 part count; per part: name (u8 length, ASCII), u32 data length, data, u32 CRC-32 of name and
/// data; then u32 CRC-32 of everything before it.
/// </remarks>
public sealed class VcpuState
{
    /// <summary>The format version <see cref="Write"/> writes and <see cref="Read"/> accepts.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Most parts a state may have.</summary>
    public const int MaxParts = 64;

    /// <summary>Longest part name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Largest part (XSAVE areas are a few KiB; this leaves room for larger ones).</summary>
    public const int MaxPartLength = 1 << 20;

    private static ReadOnlySpan<byte> Magic => "MSVCPUST"u8;

    private readonly VcpuStatePart[] _parts;

    /// <summary>Creates a state.</summary>
    /// <param name="kind">Which accelerator and architecture wrote it (e.g. "kvm-x86_64"); a loader refuses other kinds.</param>
    /// <param name="index">The vCPU index it was saved from.</param>
    /// <param name="parts">The parts, with distinct valid names.</param>
    /// <exception cref="VcpuStateException">A name is invalid or repeated, a part too large, or there are too many parts.</exception>
    public VcpuState(string kind, int index, IEnumerable<VcpuStatePart> parts)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(parts);
        CheckName(kind, null, "kind");
        if (index < 0)
        {
            throw new VcpuStateException(null, $"vCPU index {index} is negative");
        }
        _parts = parts.ToArray();
        if (_parts.Length > MaxParts)
        {
            throw new VcpuStateException(null, $"{_parts.Length} parts; at most {MaxParts} are allowed");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (VcpuStatePart p in _parts)
        {
            ArgumentNullException.ThrowIfNull(p);
            CheckName(p.Name, p.Name, "name");
            if (!seen.Add(p.Name))
            {
                throw new VcpuStateException(p.Name, "appears twice");
            }
            if (p.Data.Length > MaxPartLength)
            {
                throw new VcpuStateException(p.Name, $"{p.Data.Length} bytes; at most {MaxPartLength} are allowed");
            }
        }
        Kind = kind;
        Index = index;
    }

    /// <summary>Which accelerator and architecture wrote the state (e.g. "kvm-x86_64").</summary>
    public string Kind { get; }

    /// <summary>The vCPU index the state was saved from.</summary>
    public int Index { get; }

    /// <summary>The parts, in the order they were saved.</summary>
    public IReadOnlyList<VcpuStatePart> Parts => _parts;

    /// <summary>The part named <paramref name="name"/>, or null.</summary>
    /// <param name="name">Part name.</param>
    public byte[]? Find(string name) => Array.Find(_parts, p => p.Name == name)?.Data;

    /// <summary>The part named <paramref name="name"/>, which must be <paramref name="length"/> bytes long (any length when negative).</summary>
    /// <param name="name">Part name.</param>
    /// <param name="length">Its required length, or -1.</param>
    /// <exception cref="VcpuStateException">The part is missing or has another length.</exception>
    public byte[] Get(string name, int length = -1)
    {
        byte[] data = Find(name) ?? throw new VcpuStateException(name, "missing");
        if (length >= 0 && data.Length != length)
        {
            throw new VcpuStateException(name, $"is {data.Length} bytes; {length} expected");
        }
        return data;
    }

    /// <summary>Writes the state to <paramref name="stream"/>.</summary>
    /// <param name="stream">Where it goes.</param>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(ToArray());
    }

    /// <summary>The serialized state (what <see cref="Write"/> writes).</summary>
    public byte[] ToArray()
    {
        var b = new MemoryStream();
        b.Write(Magic);
        U32(b, CurrentVersion);
        Name(b, Kind);
        U32(b, (uint)Index);
        U32(b, (uint)_parts.Length);
        foreach (VcpuStatePart p in _parts)
        {
            long start = b.Position;
            Name(b, p.Name);
            U32(b, (uint)p.Data.Length);
            b.Write(p.Data);
            // The part's CRC covers its name and data (not the length field, which the bound already checks).
            uint crc = Crc32.Compute(b.GetBuffer().AsSpan((int)start, 1 + p.Name.Length));
            crc = Crc32.Append(crc, p.Data);
            U32(b, crc);
        }
        U32(b, Crc32.Compute(b.GetBuffer().AsSpan(0, (int)b.Length)));
        return b.ToArray();
    }

    /// <summary>Reads a state <see cref="Write"/> wrote, consuming exactly its bytes from <paramref name="stream"/>.</summary>
    /// <param name="stream">Where it comes from (untrusted).</param>
    /// <exception cref="VcpuStateException">The bytes are not a valid state of <see cref="CurrentVersion"/>; the message names the part.</exception>
    public static VcpuState Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var all = new MemoryStream();
        Span<byte> magic = stackalloc byte[8];
        Exactly(stream, magic, all, null, "magic");
        if (!magic.SequenceEqual(Magic))
        {
            throw new VcpuStateException(null, $"bad magic {Convert.ToHexString(magic)}; this is not a Memspace vCPU state");
        }
        uint version = ReadU32(stream, all, null, "version");
        if (version != CurrentVersion)
        {
            throw new VcpuStateException(null, $"version {version}; this Memspace reads version {CurrentVersion}");
        }
        string kind = ReadName(stream, all, null, "kind");
        uint index = ReadU32(stream, all, null, "vCPU index");
        if (index > int.MaxValue)
        {
            throw new VcpuStateException(null, $"vCPU index {index} is out of range");
        }
        uint count = ReadU32(stream, all, null, "part count");
        if (count > MaxParts)
        {
            throw new VcpuStateException(null, $"part count {count}; at most {MaxParts} are allowed");
        }
        var parts = new List<VcpuStatePart>((int)count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            long start = all.Length;
            string name = ReadName(stream, all, $"#{i}", "name");
            uint length = ReadU32(stream, all, name, "length");
            if (length > MaxPartLength)
            {
                throw new VcpuStateException(name, $"length {length}; at most {MaxPartLength} are allowed");
            }
            byte[] data = new byte[length];
            Exactly(stream, data, all, name, "data");
            uint crc = ReadU32(stream, all, name, "checksum");
            uint actual = Crc32.Append(Crc32.Compute(all.GetBuffer().AsSpan((int)start, 1 + name.Length)), data);
            if (crc != actual)
            {
                throw new VcpuStateException(name, $"checksum mismatch (stored 0x{crc:x8}, computed 0x{actual:x8}): the part is corrupted");
            }
            if (!seen.Add(name))
            {
                throw new VcpuStateException(name, "appears twice");
            }
            parts.Add(new VcpuStatePart(name, data));
        }
        uint total = Crc32.Compute(all.GetBuffer().AsSpan(0, (int)all.Length));
        uint stored = ReadU32(stream, all, null, "final checksum");
        if (stored != total)
        {
            throw new VcpuStateException(null, $"final checksum mismatch (stored 0x{stored:x8}, computed 0x{total:x8}): the header is corrupted");
        }
        return new VcpuState(kind, (int)index, parts);
    }

    private static void CheckName(string name, string? part, string what)
    {
        if (name.Length is 0 or > MaxNameLength || !name.All(c => c is > ' ' and < (char)0x7f))
        {
            throw new VcpuStateException(part is null || part.Length is 0 or > MaxNameLength ? null : part,
                $"{what} must be 1 to {MaxNameLength} printable ASCII characters");
        }
    }

    private static void U32(MemoryStream b, uint v)
    {
        Span<byte> s = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(s, v);
        b.Write(s);
    }

    private static void Name(MemoryStream b, string name)
    {
        b.WriteByte((byte)name.Length);
        b.Write(Encoding.ASCII.GetBytes(name));
    }

    private static void Exactly(Stream stream, Span<byte> buffer, MemoryStream all, string? part, string what)
    {
        int got = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (got < buffer.Length)
        {
            throw new VcpuStateException(part, $"truncated: the stream ends in its {what} ({got} of {buffer.Length} bytes)");
        }
        all.Write(buffer);
    }

    private static uint ReadU32(Stream stream, MemoryStream all, string? part, string what)
    {
        Span<byte> b = stackalloc byte[4];
        Exactly(stream, b, all, part, what);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    private static string ReadName(Stream stream, MemoryStream all, string? part, string what)
    {
        Span<byte> len = stackalloc byte[1];
        Exactly(stream, len, all, part, what + " length");
        if (len[0] is 0 or > MaxNameLength)
        {
            throw new VcpuStateException(part, $"{what} length {len[0]}; 1 to {MaxNameLength} expected");
        }
        Span<byte> bytes = stackalloc byte[len[0]];
        Exactly(stream, bytes, all, part, what);
        foreach (byte c in bytes)
        {
            if (c is <= (byte)' ' or >= 0x7f)
            {
                throw new VcpuStateException(part, $"{what} holds byte 0x{c:x2}; printable ASCII expected");
            }
        }
        return Encoding.ASCII.GetString(bytes);
    }
}
