using Memspace.Ram;
using Memspace.Regions;

namespace Memspace.Tests.Ram;

/// <summary>Host pointers that cannot outlive their memory: <see cref="RamPointer"/> and <see cref="MappedMemory.Pointer"/>.</summary>
public class RamPointerTests
{
    [Fact]
    public void APointerKeepsTheBlockMappedAcrossDestroyAndAGracePeriod()
    {
        using var s = new MemorySystem();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x10000);
        ram.RamBlock!.Write(0x100, [0xab]);
        RamPointer pointer = ram.GetRamPtr();
        Assert.Equal(0x10000UL, pointer.Length);
        HostMemory memory = ram.RamBlock.Memory!;
        ram.Destroy();
        Rcu.Synchronize();
        Rcu.Synchronize();
        Assert.False(memory.IsDisposed);
        // SAFETY: the handle pins the block's 0x10000 mapped bytes until it is disposed below.
        unsafe
        {
            Assert.Equal(0xab, ((byte*)pointer.Address)[0x100]);
        }
        pointer.Dispose();
        Assert.True(memory.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => pointer.Address);
        pointer.Dispose(); // twice is harmless
    }

    [Fact]
    public void GetRamPtrAfterDestroyThrowsAndAliasesFollowTheirTarget()
    {
        using var s = new MemorySystem();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x10000);
        MemoryRegion alias = MemoryRegion.CreateAlias(s, "window", ram, 0x3000, 0x1000);
        using (RamPointer whole = ram.GetRamPtr())
        using (RamPointer through = alias.GetRamPtr())
        {
            Assert.Equal(whole.Address + 0x3000, through.Address);
            Assert.Equal(0x3000UL, through.Offset);
        }
        alias.Destroy();
        Assert.Throws<ObjectDisposedException>(() => alias.GetRamPtr());
        ram.Destroy();
        Assert.Throws<ObjectDisposedException>(() => ram.GetRamPtr());
        Assert.Throws<InvalidOperationException>(() => MemoryRegion.CreateContainer(s, "c", 0x1000).GetRamPtr());
    }

    [Fact]
    public void AnAliasPastTheEndOfItsRamHasNoPointer()
    {
        using var s = new MemorySystem();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x1000);
        MemoryRegion alias = MemoryRegion.CreateAlias(s, "beyond", ram, 0x5000, 0x1000);
        Assert.Throws<InvalidOperationException>(() => alias.GetRamPtr());
    }

    [Fact]
    public void MappedMemoryPointerThrowsAfterUnmap()
    {
        using var s = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(s, "root", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x10000);
        root.AddSubregion(0, ram);
        MappedMemory m = space.Map(0x1000, 0x1000, isWrite: true, MemTxAttrs.UnspecifiedAttrs)!;
        Assert.NotEqual(0, m.Pointer);
        space.Unmap(m, 0x1000);
        Assert.Throws<ObjectDisposedException>(() => m.Pointer);
        Assert.Throws<ObjectDisposedException>(() => m.AsSpan());
    }

    [Fact]
    public void DisposingTheSystemWaitsForPinnedBlocks()
    {
        var s = new MemorySystem();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x1000);
        HostMemory memory = ram.RamBlock!.Memory!;
        RamPointer pointer = ram.GetRamPtr();
        s.Dispose();
        Assert.False(memory.IsDisposed);
        pointer.Dispose();
        Assert.True(memory.IsDisposed);
    }
}
