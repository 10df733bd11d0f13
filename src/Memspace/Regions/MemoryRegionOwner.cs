namespace Memspace.Regions;

/// <summary>
/// The object that owns a memory region (QEMU's QOM <c>owner</c>): a device or a plain object.
/// </summary>
/// <remarks>
/// QEMU uses the owner for three things, and so does Memspace: <c>info mtree -o</c> prints it,
/// a device owner's qdev path prefixes the RAMBlock id (<c>0000:00:02.0/vga.vram</c>), and the
/// re-entrancy guard of device models is kept per owning device.
/// </remarks>
public sealed class MemoryRegionOwner
{
    /// <summary>
    /// The container QEMU parents ownerless regions to (<c>/machine/unattached</c>); printed as
    /// <c>parent:{obj path=/machine/unattached}</c> by <c>info mtree -o</c>.
    /// </summary>
    public static MemoryRegionOwner Unattached { get; } = Object("container", "/machine/unattached");

    private MemoryRegionOwner(string typeName, string? canonicalPath, bool isDevice, string? id, string? devicePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeName);
        TypeName = typeName;
        CanonicalPath = canonicalPath;
        IsDevice = isDevice;
        Id = id;
        DevicePath = devicePath;
    }

    /// <summary>Creates a device owner.</summary>
    /// <param name="typeName">QOM type, for example <c>VGA</c>.</param>
    /// <param name="canonicalPath">QOM path, for example <c>/machine/peripheral-anon/device[0]</c>; may be null.</param>
    /// <param name="id">The user-given id (<c>-device ...,id=ID</c>), if any.</param>
    /// <param name="devicePath">The qdev path that prefixes RAMBlock ids (for PCI: <c>0000:00:02.0</c>), if any.</param>
    public static MemoryRegionOwner Device(string typeName, string? canonicalPath = null, string? id = null, string? devicePath = null)
        => new(typeName, canonicalPath, isDevice: true, id, devicePath);

    /// <summary>Creates an owner that is a plain object (not a device).</summary>
    /// <param name="typeName">QOM type.</param>
    /// <param name="canonicalPath">QOM path, for example <c>/machine</c>; may be null.</param>
    public static MemoryRegionOwner Object(string typeName, string? canonicalPath = null)
        => new(typeName, canonicalPath, isDevice: false, id: null, devicePath: null);

    /// <summary>QOM type name.</summary>
    public string TypeName { get; }

    /// <summary>QOM canonical path, or null when the object is not in the composition tree.</summary>
    public string? CanonicalPath { get; }

    /// <summary>Whether the owner is a device (QEMU's <c>TYPE_DEVICE</c>).</summary>
    public bool IsDevice { get; }

    /// <summary>The device id given by the user, if any.</summary>
    public string? Id { get; }

    /// <summary>The qdev path used as the RAMBlock id prefix, if any.</summary>
    public string? DevicePath { get; }

    /// <summary>Formats the owner the way <c>info mtree -o</c> does, for example <c>owner:{dev id=vga}</c>.</summary>
    /// <param name="label"><c>owner</c> or <c>parent</c>.</param>
    public string Describe(string label)
    {
        string what = IsDevice && Id is not null ? $" id={Id}"
            : CanonicalPath is not null ? $" path={CanonicalPath}"
            : $" type={TypeName}";
        return $"{label}:{{{(IsDevice ? "dev" : "obj")}{what}}}";
    }

    /// <inheritdoc/>
    public override string ToString() => Describe("owner");
}
