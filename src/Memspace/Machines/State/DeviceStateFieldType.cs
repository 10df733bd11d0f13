namespace Memspace.Machines.State;

/// <summary>The type tag of one field in saved device state.</summary>
public enum DeviceStateFieldType : byte
{
    /// <summary>An unsigned 8-bit value.</summary>
    U8 = 1,

    /// <summary>An unsigned 16-bit value.</summary>
    U16 = 2,

    /// <summary>An unsigned 32-bit value.</summary>
    U32 = 3,

    /// <summary>An unsigned 64-bit value.</summary>
    U64 = 4,

    /// <summary>A signed 64-bit value.</summary>
    I64 = 5,

    /// <summary>A boolean.</summary>
    Bool = 6,

    /// <summary>A byte string with its length.</summary>
    Bytes = 7,
}
