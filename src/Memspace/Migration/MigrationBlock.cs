namespace Memspace.Migration;

/// <summary>A RAMBlock as a stream or snapshot describes it: its id and the bytes in use.</summary>
/// <param name="IdStr">QEMU's <c>idstr</c>.</param>
/// <param name="UsedLength">Bytes in use.</param>
public readonly record struct MigrationBlock(string IdStr, ulong UsedLength);
