using System.Buffers.Binary;
using System.Text;

namespace Memspace.Machines.Firmware;

/// <summary>
/// The "etc/table-loader" fw_cfg file (QEMU's <c>BIOSLinker</c>): a list of 128-byte commands the
/// firmware executes to place fw_cfg files in guest memory (ALLOCATE), patch the pointers between them
/// (ADD_POINTER: add the address of one file to a little-endian value in another) and fix checksums
/// (ADD_CHECKSUM). SeaBIOS runs it and, finding it, also moves the ACPI PM base to 0x600.
/// </summary>
public sealed class BiosLinkerLoader
{
    /// <summary>Bytes per command.</summary>
    public const int EntrySize = 128;

    /// <summary>Longest file name (with its terminating zero) a command holds.</summary>
    public const int FileNameSize = 56;

    /// <summary>ALLOCATE's zone: anywhere in high memory.</summary>
    public const byte ZoneHigh = 1;

    /// <summary>ALLOCATE's zone: the BIOS F segment (where the RSDP must be found).</summary>
    public const byte ZoneFSeg = 2;

    private const uint CommandAllocate = 1;
    private const uint CommandAddPointer = 2;
    private const uint CommandAddChecksum = 3;

    private readonly List<byte[]> _entries = [];

    /// <summary>The commands in order, as the file's bytes.</summary>
    public byte[] ToArray() => [.. _entries.SelectMany(e => e)];

    /// <summary>Number of commands.</summary>
    public int Count => _entries.Count;

    /// <summary>ALLOCATE: load fw_cfg file <paramref name="file"/> into <paramref name="zone"/>, aligned to <paramref name="alignment"/>.</summary>
    /// <param name="file">The fw_cfg file name.</param>
    /// <param name="alignment">Alignment in bytes (a power of two).</param>
    /// <param name="zone"><see cref="ZoneHigh"/> or <see cref="ZoneFSeg"/>.</param>
    public void Allocate(string file, uint alignment, byte zone)
    {
        byte[] e = Entry(CommandAllocate);
        Name(e, 4, file);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(60), alignment);
        e[64] = zone;
    }

    /// <summary>ADD_POINTER: adds the guest address of <paramref name="sourceFile"/> to the <paramref name="size"/>-byte value at <paramref name="offset"/> of <paramref name="destinationFile"/>.</summary>
    /// <param name="destinationFile">The file holding the pointer.</param>
    /// <param name="sourceFile">The file pointed into.</param>
    /// <param name="offset">Offset of the pointer in the destination file.</param>
    /// <param name="size">Pointer size: 1, 2, 4 or 8.</param>
    public void AddPointer(string destinationFile, string sourceFile, uint offset, byte size)
    {
        byte[] e = Entry(CommandAddPointer);
        Name(e, 4, destinationFile);
        Name(e, 60, sourceFile);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(116), offset);
        e[120] = size;
    }

    /// <summary>ADD_CHECKSUM: sets the byte at <paramref name="offset"/> of <paramref name="file"/> so that bytes [start, start + length) sum to zero.</summary>
    /// <param name="file">The file.</param>
    /// <param name="offset">The checksum byte.</param>
    /// <param name="start">First byte summed.</param>
    /// <param name="length">Bytes summed.</param>
    public void AddChecksum(string file, uint offset, uint start, uint length)
    {
        byte[] e = Entry(CommandAddChecksum);
        Name(e, 4, file);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(60), offset);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(64), start);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(68), length);
    }

    private byte[] Entry(uint command)
    {
        var e = new byte[EntrySize];
        BinaryPrimitives.WriteUInt32LittleEndian(e, command);
        _entries.Add(e);
        return e;
    }

    private static void Name(byte[] entry, int at, string file)
    {
        byte[] name = Encoding.ASCII.GetBytes(file);
        if (name.Length >= FileNameSize)
        {
            throw new ArgumentException($"fw_cfg file name '{file}' is longer than {FileNameSize - 1} bytes", nameof(file));
        }
        name.CopyTo(entry, at);
    }
}
