using System.Text;

namespace Memspace.Machines.Firmware;

/// <summary>
/// The few ACPI Machine Language encodings Memspace's DSDT needs: scopes, devices, and names holding
/// an EISA id. Enough for firmware that scans the DSDT for devices (SeaBIOS looks for the keyboard,
/// mouse, floppy and serial ports by their EISA ids).
/// </summary>
public static class AcpiAml
{
    /// <summary><c>Scope(path) { body }</c>.</summary>
    /// <param name="path">A name path such as <c>\_SB_</c>.</param>
    /// <param name="body">The encoded terms inside.</param>
    public static byte[] Scope(string path, params byte[][] body)
        => [0x10, .. Package([.. NameString(path), .. body.SelectMany(b => b)])];

    /// <summary><c>Device(name) { body }</c>.</summary>
    /// <param name="name">A four-character name segment.</param>
    /// <param name="body">The encoded terms inside.</param>
    public static byte[] Device(string name, params byte[][] body)
        => [0x5b, 0x82, .. Package([.. NameSegment(name), .. body.SelectMany(b => b)])];

    /// <summary><c>Name(name, EisaId(id))</c>.</summary>
    /// <param name="name">A four-character name segment, such as <c>_HID</c>.</param>
    /// <param name="eisaId">Seven characters: three letters and four hex digits, such as <c>PNP0303</c>.</param>
    public static byte[] NameEisaId(string name, string eisaId)
        => [0x08, .. NameSegment(name), 0x0c, .. BitConverter.GetBytes(EisaId(eisaId))];

    /// <summary>ASL's <c>EisaId()</c>: the compressed 32-bit form (little-endian in AML).</summary>
    /// <param name="id">Three upper-case letters and four hex digits.</param>
    public static uint EisaId(string id)
    {
        if (id.Length != 7 || !id[..3].All(char.IsAsciiLetterUpper) || !id[3..].All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"'{id}' is not an EISA id (three letters, four hex digits)", nameof(id));
        }
        int c1 = id[0] - 0x40, c2 = id[1] - 0x40, c3 = id[2] - 0x40;
        uint product = Convert.ToUInt32(id[3..], 16);
        byte b0 = (byte)((c1 << 2) | (c2 >> 3));
        byte b1 = (byte)(((c2 & 7) << 5) | c3);
        return b0 | ((uint)b1 << 8) | ((product >> 8) << 16) | ((product & 0xff) << 24);
    }

    private static byte[] NameSegment(string name)
    {
        if (name.Length != 4)
        {
            throw new ArgumentException($"AML name segment '{name}' must have four characters", nameof(name));
        }
        return Encoding.ASCII.GetBytes(name);
    }

    private static byte[] NameString(string path)
        => path.StartsWith('\\') ? [(byte)'\\', .. NameSegment(path[1..])] : NameSegment(path);

    /// <summary>A package length (which counts its own bytes) followed by <paramref name="content"/>.</summary>
    private static byte[] Package(byte[] content)
    {
        int length = content.Length + 1;
        if (length < 0x40)
        {
            return [(byte)length, .. content];
        }
        length = content.Length + 2;
        if (length >= 0x1000)
        {
            throw new ArgumentException("AML package longer than Memspace's DSDT needs");
        }
        return [(byte)(0x40 | (length & 0xf)), (byte)(length >> 4), .. content];
    }
}
