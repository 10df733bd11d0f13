namespace Memspace.Core;

/// <summary>
/// Attributes of a memory transaction (QEMU's <c>MemTxAttrs</c>).
/// </summary>
/// <remarks>
/// <see cref="Unspecified"/> is what a bus master that states nothing gets
/// (<c>MEMTXATTRS_UNSPECIFIED</c>); <c>default(MemTxAttrs)</c> means "all attributes deliberately clear".
/// </remarks>
public readonly record struct MemTxAttrs
{
    /// <summary>The attributes QEMU calls <c>MEMTXATTRS_UNSPECIFIED</c>.</summary>
    public static MemTxAttrs UnspecifiedAttrs { get; } = new() { Unspecified = true };

    /// <summary>The master did not specify attributes.</summary>
    public bool Unspecified { get; init; }

    /// <summary>TrustZone secure access (ARM) or System Management Mode access (x86).</summary>
    public bool Secure { get; init; }

    /// <summary>The access is unprivileged (user mode).</summary>
    public bool User { get; init; }

    /// <summary>Restrict the access to "normal" memory: accesses that reach a device region fail with <see cref="MemTxResult.AccessError"/>.</summary>
    public bool Memory { get; init; }

    /// <summary>Debugger access (for example the monitor or a ROM loader): may write read-only memory.</summary>
    public bool Debug { get; init; }

    /// <summary>Requester ID of the bus master (for example for MSI).</summary>
    public ushort RequesterId { get; init; }
}
