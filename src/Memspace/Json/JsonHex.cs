using System.Globalization;

namespace Memspace.Json;

/// <summary>
/// Addresses and sizes in the JSON documents: <c>0x</c>-prefixed lower-case hex strings, because
/// 64-bit values (and the 2^64 size of a full address space) do not survive JSON numbers in most
/// readers.
/// </summary>
internal static class JsonHex
{
    public static string Of(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    public static string Of(UInt128 value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    public static string Of(nint value) => Of((ulong)value);
}
