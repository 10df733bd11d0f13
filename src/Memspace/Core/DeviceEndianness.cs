namespace Memspace.Core;

/// <summary>
/// Byte order of a device's registers (QEMU's <c>enum device_endian</c>).
/// </summary>
public enum DeviceEndianness
{
    /// <summary>The target's native order: little-endian for the x86 and ARM targets this library models.</summary>
    Native,

    /// <summary>Big-endian registers.</summary>
    Big,

    /// <summary>Little-endian registers.</summary>
    Little,
}
