using Memspace.Regions;

namespace Memspace.Tests.Support;

/// <summary>Short constructors for test graphs (the notation of the semantics digest, section 10).</summary>
internal static class Build
{
    public static readonly UInt128 Max = MemoryRegion.Size2To64;

    public static MemoryRegionOps DummyOps { get; } = new()
    {
        Read = static (_, _) => 0,
        Write = static (_, _, _) => { },
    };

    public static MemoryRegion C(MemorySystem s, string name, UInt128 size) => MemoryRegion.CreateContainer(s, name, size);

    public static MemoryRegion M(MemorySystem s, string name, UInt128 size) => MemoryRegion.CreateIo(s, name, size, DummyOps);

    public static MemoryRegion R(MemorySystem s, string name, UInt128 size) => MemoryRegion.CreateRam(s, name, size);

    public static MemoryRegion O(MemorySystem s, string name, UInt128 size) => MemoryRegion.CreateRom(s, name, size);

    public static MemoryRegion A(MemorySystem s, string name, MemoryRegion target, ulong offset, UInt128 size)
        => MemoryRegion.CreateAlias(s, name, target, offset, size);

    /// <summary>A memory system with a 2^64 root container "system" and an address space "memory".</summary>
    public static (MemorySystem System, MemoryRegion Root, AddressSpace Space) Machine()
    {
        var s = new MemorySystem();
        MemoryRegion root = C(s, "system", Max);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        return (s, root, space);
    }

    /// <summary>The view as "[start,end) name@offset flags" lines, for compact assertions.</summary>
    public static string[] Flat(AddressSpace space)
        => space.CurrentMap.Ranges.Select(Describe).ToArray();

    public static string Describe(global::Memspace.Rendering.FlatRange r)
    {
        string s = $"[0x{r.Start:x},0x{r.End:x}) {r.Region.Name}";
        if (r.OffsetInRegion != 0)
        {
            s += $"@0x{r.OffsetInRegion:x}";
        }
        if (r.ReadOnly)
        {
            s += " ro";
        }
        if (r.NonVolatile)
        {
            s += " nv";
        }
        return s;
    }
}
