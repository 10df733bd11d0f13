using Memspace.Dispatch;
using Memspace.Ram;
using Memspace.Regions;

namespace Memspace.Tests.Dispatch;

/// <summary>Guest accesses with QEMU's rules: digest cases 52-62 and more.</summary>
public class DispatchTests
{
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    /// <summary>A device that records every callback as "r@addr/size" or "w@addr/size=value".</summary>
    private sealed class Recorder
    {
        public List<string> Calls { get; } = [];

        public Func<ulong, uint, ulong> ReadValue { get; set; } = (a, _) => 0x11223344_55667788 ^ a;

        public MemoryRegionOps Ops(ValidAccess valid = default, ImplAccess impl = default, DeviceEndianness endianness = DeviceEndianness.Little) => new()
        {
            Read = (a, s) =>
            {
                Calls.Add($"r@{a:x}/{s}");
                return ReadValue(a, s);
            },
            Write = (a, v, s) => Calls.Add($"w@{a:x}/{s}={v:x}"),
            Valid = valid,
            Impl = impl,
            Endianness = endianness,
        };
    }

    private static (MemorySystem S, MemoryRegion Root, AddressSpace Space) Machine()
    {
        var s = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        return (s, root, s.CreateAddressSpace(root, "memory"));
    }

    [Fact]
    public void RamReadWriteRoundTripsAndMarksDirty()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x10000);
        root.AddSubregion(0x100000, ram);
        ram.SetLog(true, DirtyMemoryClient.Vga);
        s.RamList.Dirty.ClearDirty(ram.RamAddr, 0x10000);
        byte[] data = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];
        Assert.Equal(MemTxResult.Ok, space.Write(0x100ffe - 0x100, data));
        var back = new byte[300];
        Assert.Equal(MemTxResult.Ok, space.Read(0x100ffe - 0x100, back));
        Assert.Equal(data, back);
        Assert.True(ram.GetDirty(0xefe, 300, DirtyMemoryClient.Vga));
        Assert.False(ram.GetDirty(0x2000, 0x1000, DirtyMemoryClient.Vga));
        Assert.Equal(MemTxResult.Ok, space.StoreU32Be(0x100010, 0xaabbccdd, U));
        Assert.Equal(0xddccbbaau, space.LoadU32Le(0x100010, out MemTxResult r, U));
        Assert.Equal(MemTxResult.Ok, r);
        Assert.Equal(0xaabbccddu, space.LoadU32Be(0x100010, out _, U));
        Assert.Equal(0xddu, space.LoadU8(0x100013, out _, U));
        Assert.Equal(MemTxResult.Ok, space.StoreU64Le(0x100020, 0x0102030405060708, U));
        Assert.Equal(0x0807060504030201UL, space.LoadU64Be(0x100020, out _, U));
        Assert.Equal(0x0403, space.LoadU16Be(0x100024, out _, U));
    }

    [Fact]
    public void Case52_UnassignedMemoryReadsZeroWithDecodeError()
    {
        var (s, _, space) = Machine();
        var errors = new List<string>();
        s.GuestError += errors.Add;
        Assert.Equal(0u, space.LoadU32Le(0x1234, out MemTxResult r, U));
        Assert.Equal(MemTxResult.DecodeError, r);
        var buf = new byte[16];
        Array.Fill(buf, (byte)0xee);
        Assert.Equal(MemTxResult.DecodeError, space.Read(0xffff_ffff_ffff_fff8, buf));
        Assert.All(buf, b => Assert.Equal(0, b));
        Assert.Equal(MemTxResult.DecodeError, space.Write(0x5000, buf));
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Case52_PcIoRootReadsAllOnesWithOk()
    {
        var s = new MemorySystem();
        MemoryRegion io = MemoryRegion.CreateIo(s, "io", 0x10000, new MemoryRegionOps
        {
            Read = (_, _) => ulong.MaxValue,
            Write = (_, _, _) => { },
        });
        AddressSpace ioSpace = s.CreateAddressSpace(io, "I/O");
        Assert.Equal(0xffu, ioSpace.LoadU8(0x300, out MemTxResult r, U));
        Assert.Equal(MemTxResult.Ok, r);
        Assert.Equal(0xffffffffu, ioSpace.LoadU32Le(0x300, out r, U));
        Assert.Equal(MemTxResult.Ok, r);
    }

    [Fact]
    public void Case53_BulkReadIsCutToValidMax()
    {
        var (s, root, space) = Machine();
        var dev = new Recorder();
        root.AddSubregion(0x1000, MemoryRegion.CreateIo(s, "dev", 0x100, dev.Ops(valid: new ValidAccess { MaxAccessSize = 4 })));
        var buf = new byte[8];
        Assert.Equal(MemTxResult.Ok, space.Read(0x1008, buf));
        Assert.Equal(["r@8/4", "r@c/4"], dev.Calls);
        dev.Calls.Clear();
        // valid.max_access_size 0 counts as 4 for cutting.
        var dev0 = new Recorder();
        root.AddSubregion(0x2000, MemoryRegion.CreateIo(s, "dev0", 0x100, dev0.Ops()));
        Assert.Equal(MemTxResult.Ok, space.Read(0x2008, buf));
        Assert.Equal(["r@8/4", "r@c/4"], dev0.Calls);
        // Alignment limits the pieces: 7 bytes at 0x...1 go 1, 2, 4.
        dev0.Calls.Clear();
        space.Read(0x2001, new byte[7]);
        Assert.Equal(["r@1/1", "r@2/2", "r@4/4"], dev0.Calls);
    }

    [Theory]
    [InlineData(DeviceEndianness.Little)]
    [InlineData(DeviceEndianness.Big)]
    public void Case54_ByteWideDeviceSeesBytesInAddressOrder(DeviceEndianness endianness)
    {
        var (s, root, space) = Machine();
        var dev = new Recorder();
        root.AddSubregion(0, MemoryRegion.CreateIo(s, "dev", 0x100, dev.Ops(impl: new ImplAccess { MaxAccessSize = 1 }, endianness: endianness)));
        Assert.Equal(MemTxResult.Ok, space.StoreU32Le(0x10, 0x11223344, U));
        Assert.Equal(["w@10/1=44", "w@11/1=33", "w@12/1=22", "w@13/1=11"], dev.Calls);
    }

    [Fact]
    public void Case54_WordWideDevicesSeeTheirOwnByteOrder()
    {
        var (s, root, space) = Machine();
        var le = new Recorder();
        var be = new Recorder();
        root.AddSubregion(0, MemoryRegion.CreateIo(s, "le", 0x100, le.Ops(impl: new ImplAccess { MaxAccessSize = 4 })));
        root.AddSubregion(0x100, MemoryRegion.CreateIo(s, "be", 0x100, be.Ops(impl: new ImplAccess { MaxAccessSize = 4 }, endianness: DeviceEndianness.Big)));
        space.StoreU32Le(0x10, 0x11223344, U);
        space.StoreU32Le(0x110, 0x11223344, U);
        Assert.Equal(["w@10/4=11223344"], le.Calls);
        Assert.Equal(["w@10/4=44332211"], be.Calls);
        // Bulk writes carry the same bytes.
        le.Calls.Clear();
        be.Calls.Clear();
        space.Write(0x20, [0x44, 0x33, 0x22, 0x11]);
        space.Write(0x120, [0x44, 0x33, 0x22, 0x11]);
        Assert.Equal(["w@20/4=11223344"], le.Calls);
        Assert.Equal(["w@20/4=44332211"], be.Calls);
        // And reads come back in address order.
        be.ReadValue = (_, _) => 0x44332211;
        var buf = new byte[4];
        space.Read(0x120, buf);
        Assert.Equal(new byte[] { 0x44, 0x33, 0x22, 0x11 }, buf);
    }

    [Fact]
    public void Case55_NarrowReadIsWidenedAtTheUnalignedAddress()
    {
        var (s, root, space) = Machine();
        var le = new Recorder { ReadValue = (_, _) => 0xaabbccdd };
        var be = new Recorder { ReadValue = (_, _) => 0xaabbccdd };
        root.AddSubregion(0, MemoryRegion.CreateIo(s, "le", 0x100, le.Ops(impl: new ImplAccess { MinAccessSize = 4 })));
        root.AddSubregion(0x100, MemoryRegion.CreateIo(s, "be", 0x100, be.Ops(impl: new ImplAccess { MinAccessSize = 4 }, endianness: DeviceEndianness.Big)));
        Assert.Equal(0xddu, space.LoadU8(0x3, out _, U));
        Assert.Equal(["r@3/4"], le.Calls);
        Assert.Equal(0xaau, space.LoadU8(0x103, out _, U));
        Assert.Equal(["r@3/4"], be.Calls);
    }

    [Fact]
    public void Case56_UnalignedDispatchIsRejectedButBulkReadsAreCut()
    {
        var (s, root, space) = Machine();
        var dev = new Recorder();
        MemoryRegion mr = MemoryRegion.CreateIo(s, "dev", 0x100, dev.Ops());
        root.AddSubregion(0, mr);
        Assert.Equal(MemTxResult.DecodeError, mr.DispatchRead(2, out ulong v, 4, U));
        Assert.Equal(0UL, v);
        Assert.Empty(dev.Calls);
        Assert.Equal(MemTxResult.Ok, space.Read(2, new byte[4]));
        Assert.Equal(["r@2/2", "r@4/2"], dev.Calls);
        // A typed load is one access of its width: unaligned, it is rejected.
        dev.Calls.Clear();
        Assert.Equal(0u, space.LoadU32Le(2, out MemTxResult r, U));
        Assert.Equal(MemTxResult.DecodeError, r);
        Assert.Empty(dev.Calls);
    }

    [Fact]
    public void Case57_AcceptsCanRefuse()
    {
        var (s, root, space) = Machine();
        var dev = new Recorder();
        root.AddSubregion(0, MemoryRegion.CreateIo(s, "dev", 0x100, dev.Ops(valid: new ValidAccess { Accepts = (a, _, w, _) => a < 0x80 && !w })));
        Assert.Equal(0u, space.LoadU32Le(0x80, out MemTxResult r, U));
        Assert.Equal(MemTxResult.DecodeError, r);
        Assert.Equal(MemTxResult.DecodeError, space.StoreU32Le(0x10, 1, U));
        Assert.Empty(dev.Calls);
        space.LoadU32Le(0x10, out r, U);
        Assert.Equal(MemTxResult.Ok, r);
        Assert.True(space.AccessValid(0x10, 8, false, U));
        Assert.False(space.AccessValid(0x7c, 8, false, U));
        Assert.False(space.AccessValid(0x10, 4, true, U));
        Assert.False(space.AccessValid(0x5000, 1, false, U));
    }

    [Fact]
    public void Case58_RomWritesNeedDebugOrTheRomLoader()
    {
        var (s, root, space) = Machine();
        MemoryRegion rom = MemoryRegion.CreateRom(s, "rom", 0x1000);
        root.AddSubregion(0xf0000, rom);
        Assert.Equal(MemTxResult.DecodeError, space.Write(0xf0000, [1, 2, 3]));
        Assert.Equal(0u, space.LoadU8(0xf0001, out _, U));
        Assert.Equal(MemTxResult.Ok, space.Write(0xf0000, [1, 2, 3], U with { Debug = true }));
        Assert.Equal(2u, space.LoadU8(0xf0001, out _, U));
        Assert.Equal(MemTxResult.Ok, space.WriteRom(0xf0000, [9, 9], U));
        Assert.Equal(9u, space.LoadU8(0xf0001, out _, U));
        Assert.Equal(MemTxResult.DecodeError, space.StoreU16Le(0xf0000, 7, U));
    }

    [Fact]
    public void ReadOnlyAliasesRefuseWritesUnlessConfiguredAsQemu72()
    {
        foreach (bool honour in new[] { true, false })
        {
            var s = new MemorySystem(new MemorySystemOptions { HonourSectionReadOnly = honour });
            MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
            AddressSpace space = s.CreateAddressSpace(root, "memory");
            MemoryRegion ram = MemoryRegion.CreateRam(s, "pc.ram", 0x100000);
            MemoryRegion pamRom = MemoryRegion.CreateAlias(s, "pam-rom", ram, 0xc0000, 0x4000);
            pamRom.SetReadOnly(true);
            root.AddSubregion(0, MemoryRegion.CreateAlias(s, "ram", ram, 0, 0x100000));
            root.AddSubregion(0xc0000, pamRom, 1);
            MemTxResult r = space.Write(0xc0000, [0x55]);
            Assert.Equal(honour ? MemTxResult.DecodeError : MemTxResult.Ok, r);
            Assert.Equal(honour ? 0u : 0x55u, space.LoadU8(0xc0000, out _, U));
        }
    }

    [Fact]
    public void RomDeviceReadsMemoryInRomdModeAndCallsTheDeviceOtherwise()
    {
        var (s, root, space) = Machine();
        var dev = new Recorder { ReadValue = (_, _) => 0x77 };
        MemoryRegion flash = MemoryRegion.CreateRomDevice(s, "flash", 0x1000, dev.Ops());
        root.AddSubregion(0x1000, flash);
        flash.RamBlock!.Write(0, [0x5a]);
        Assert.Equal(0x5au, space.LoadU8(0x1000, out _, U));
        space.StoreU8(0x1000, 1, U); // writes always go to the device
        Assert.Equal(["w@0/1=1"], dev.Calls);
        flash.SetRomd(false);
        Assert.Equal(0x77u, space.LoadU8(0x1000, out _, U));
        Assert.Equal(["w@0/1=1", "r@0/1"], dev.Calls);
    }

    [Fact]
    public void RamDeviceIsAccessedThroughItsOwnOps()
    {
        var (s, root, space) = Machine();
        MemoryRegion bar = MemoryRegion.CreateRamDevice(s, "bar", 0x1000);
        root.AddSubregion(0x4000, bar);
        Assert.Equal(MemTxResult.Ok, space.StoreU64Le(0x4003, 0x1122334455667788, U)); // unaligned 8 bytes allowed
        Assert.Equal(0x1122334455667788UL, space.LoadU64Le(0x4003, out MemTxResult r, U));
        Assert.Equal(MemTxResult.Ok, r);
        // Past the end of the device memory: reads 0 instead of overrunning.
        Assert.Equal(MemTxResult.Ok, bar.DispatchRead(0xffc, out ulong v, 8, U));
        Assert.Equal(0UL, v);
    }

    [Fact]
    public void Case59_MemoryOnlyAttributeRefusesDevices()
    {
        var (s, root, space) = Machine();
        var dev = new Recorder();
        root.AddSubregion(0, MemoryRegion.CreateIo(s, "dev", 0x100, dev.Ops()));
        root.AddSubregion(0x1000, MemoryRegion.CreateRam(s, "ram", 0x1000));
        var memoryOnly = U with { Memory = true };
        Assert.Equal(MemTxResult.AccessError, space.Read(0x10, new byte[4], memoryOnly));
        space.LoadU32Le(0x10, out MemTxResult r, memoryOnly);
        Assert.Equal(MemTxResult.AccessError, r);
        Assert.Empty(dev.Calls);
        Assert.Equal(MemTxResult.Ok, space.Read(0x1010, new byte[4], memoryOnly));
    }

    [Fact]
    public void Case60_ReentrantDeviceAccessIsBlockedOnce()
    {
        var (s, root, space) = Machine();
        var owner = MemoryRegionOwner.Device("lsi53c895a", "/machine/peripheral-anon/device[0]");
        var warnings = new List<string>();
        s.Warning += warnings.Add;
        int depth = 0, maxDepth = 0;
        MemTxResult inner = MemTxResult.Ok;
        MemoryRegion mmio = null!;
        mmio = MemoryRegion.CreateIo(s, "lsi-mmio", 0x400, new MemoryRegionOps
        {
            Read = (_, _) => 0,
            Write = (a, v, _) =>
            {
                depth++;
                maxDepth = Math.Max(maxDepth, depth);
                // DMA into its own registers, as the CVE-2023-0330 guest makes the device do.
                if (v < 5)
                {
                    inner = space.StoreU32Le(0x10000 + a, (uint)v + 1, U);
                }
                depth--;
            },
        }, owner);
        root.AddSubregion(0x10000, mmio);
        Assert.Equal(MemTxResult.Ok, space.StoreU32Le(0x10000, 1, U));
        Assert.Equal(1, maxDepth);
        Assert.Equal(MemTxResult.AccessError, inner);
        space.StoreU32Le(0x10000, 1, U);
        Assert.Single(warnings);
        Assert.Equal("Blocked re-entrant IO on MemoryRegion: lsi-mmio at addr: 0x0", warnings[0]);

        // The guard is off for regions that opt out, and for RAM and ROM devices.
        mmio.DisableReentrancyGuard = true;
        maxDepth = 0;
        var r = space.StoreU32Le(0x10000, 1, U);
        Assert.Equal(5, maxDepth);
        Assert.Equal(MemTxResult.Ok, r);
        Assert.Equal(MemTxResult.Ok, inner);
    }

    [Fact]
    public void Case60_AnOwnerlessCallbackReadingItsOwnAddressGetsAnAccessError()
    {
        // The README's own example has no owner; QEMU would not guard it and recurse until the stack ends.
        var (s, root, space) = Machine();
        var warnings = new List<string>();
        s.Warning += warnings.Add;
        int calls = 0;
        MemTxResult inner = MemTxResult.Ok;
        root.AddSubregion(0xfed00000, MemoryRegion.CreateIo(s, "hpet", 0x400, new MemoryRegionOps
        {
            Read = (addr, size) =>
            {
                calls++;
                return space.LoadU32Le(0xfed00000 + addr, out inner, U) + 1;
            },
            Write = (_, _, _) => { },
        }));
        Assert.Equal(1u, space.LoadU32Le(0xfed00004, out MemTxResult r, U));
        Assert.Equal(MemTxResult.Ok, r);
        Assert.Equal(1, calls);
        Assert.Equal(MemTxResult.AccessError, inner);
        Assert.Equal(["Blocked re-entrant IO on MemoryRegion: hpet at addr: 0x4"], warnings);

        // Keyed by the region: another ownerless region reached from the callback is served.
        var second = MemoryRegion.CreateIo(s, "other", 0x100, new MemoryRegionOps { Read = (_, _) => 7, Write = (_, _, _) => { } });
        root.AddSubregion(0x1000, second);
        MemTxResult viaOther = MemTxResult.DecodeError;
        root.AddSubregion(0x2000, MemoryRegion.CreateIo(s, "caller", 0x100, new MemoryRegionOps
        {
            Read = (_, _) => space.LoadU32Le(0x1000, out viaOther, U),
            Write = (_, _, _) => { },
        }));
        Assert.Equal(7u, space.LoadU32Le(0x2000, out r, U));
        Assert.Equal(MemTxResult.Ok, viaOther);
    }

    [Fact]
    public void Case60_TheGuardIsPerThreadNotGlobal()
    {
        var (s, root, space) = Machine();
        var owner = MemoryRegionOwner.Device("dev");
        using var inside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        root.AddSubregion(0, MemoryRegion.CreateIo(s, "dev", 0x100, new MemoryRegionOps
        {
            Read = (a, _) =>
            {
                if (a == 0)
                {
                    inside.Set();
                    release.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
                }
                return a;
            },
        }, owner));
        var t = new Thread(() => space.LoadU32Le(0, out _, U));
        t.Start();
        Assert.True(inside.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        // Another vCPU touching the same device at the same time is not re-entrancy.
        Assert.Equal(4u, space.LoadU32Le(4, out MemTxResult r, U));
        Assert.Equal(MemTxResult.Ok, r);
        release.Set();
        t.Join();
    }

    [Fact]
    public void Case61_MapSpansAdjacentRangesOfOneRegion()
    {
        var (s, root, space) = Machine();
        MemoryRegion ram = MemoryRegion.CreateRam(s, "ram", 0x10000);
        root.AddSubregion(0, MemoryRegion.CreateAlias(s, "lo", ram, 0, 0x10000));
        MemoryRegion ro = MemoryRegion.CreateAlias(s, "ro", ram, 0x4000, 0x1000);
        ro.SetReadOnly(true);
        root.AddSubregion(0x4000, ro, 1);
        Assert.Equal(3, space.CurrentMap.Count);
        MappedMemory? m = space.Map(0x2000, 0x6000, false, U);
        Assert.NotNull(m);
        Assert.False(m.IsBounce);
        Assert.Equal(0x6000UL, m.Length);
        using (Memspace.Ram.RamPointer pointer = ram.GetRamPtr())
        {
            Assert.Equal(pointer.Address + 0x2000, m.Pointer);
        }
        space.Unmap(m, 0);
        // For writing, the read-only part stops the mapping.
        MappedMemory? w = space.Map(0x2000, 0x6000, true, U);
        Assert.Equal(0x2000UL, w!.Length);
        w.AsSpan().Fill(0xab);
        s.RamList.Dirty.ClearDirty(ram.RamAddr, 0x10000);
        ram.SetLog(true, DirtyMemoryClient.Vga);
        space.Unmap(w, 0x100);
        Assert.True(ram.GetDirty(0x2000, 0x100, DirtyMemoryClient.Vga));
        Assert.False(ram.GetDirty(0x3000, 0x1000, DirtyMemoryClient.Vga)); // pages: only the first was written
        Assert.Throws<InvalidOperationException>(() => space.Unmap(w, 0));
        // Across different regions the mapping is cut at the boundary.
        root.AddSubregion(0x10000, MemoryRegion.CreateRam(s, "other", 0x1000));
        Assert.Equal(0x1000UL, space.Map(0xf000, 0x2000, false, U)!.Length);
    }

    [Fact]
    public void Case62_BounceBuffersAreLimitedPerAddressSpace()
    {
        var (s, root, space) = Machine();
        var dev = new Recorder { ReadValue = (a, _) => a };
        root.AddSubregion(0x100000, MemoryRegion.CreateIo(s, "dev", 0x10000, dev.Ops(valid: new ValidAccess { MaxAccessSize = 8 }, impl: new ImplAccess { MaxAccessSize = 8 })));
        MappedMemory? first = space.Map(0x100000, 8192, false, U);
        Assert.NotNull(first);
        Assert.True(first.IsBounce);
        Assert.Equal(4096UL, first.Length);
        Assert.Equal(0x18UL, BitConverter.ToUInt64(first.AsSpan()[0x18..0x20]));
        Assert.Null(space.Map(0x104000, 100, false, U));
        int notified = 0;
        space.RegisterMapClient(() => notified++);
        Assert.Equal(0, notified);
        dev.Calls.Clear();
        space.Unmap(first, 4096);
        Assert.Equal(1, notified);
        Assert.Empty(dev.Calls); // a read mapping writes nothing back
        MappedMemory? w = space.Map(0x100010, 16, true, U);
        BitConverter.GetBytes(0x1122334455667788UL).CopyTo(w!.AsSpan());
        space.Unmap(w, 8);
        Assert.Equal(["w@10/8=1122334455667788"], dev.Calls);
        Assert.Equal(0UL, space.BounceBufferInUse);
        Assert.Null(space.Map(0, 0, false, U));
        // Bounce space is per address space.
        AddressSpace other = s.CreateAddressSpace(root, "other");
        var a = space.Map(0x100000, 4096, false, U);
        Assert.NotNull(other.Map(0x100000, 4096, false, U));
        space.Unmap(a!, 0);
    }

    [Fact]
    public void IoeventfdTakesMatchingWritesWithoutAnAccelerator()
    {
        var (s, root, space) = Machine();
        var dev = new Recorder();
        MemoryRegion mr = MemoryRegion.CreateIo(s, "virtio", 0x100, dev.Ops());
        root.AddSubregion(0x1000, mr);
        var e = new EventNotifier();
        mr.AddEventfd(0x10, 2, true, 5, e);
        space.StoreU16Le(0x1010, 5, U);
        Assert.True(e.TestAndClear());
        Assert.Empty(dev.Calls);
        space.StoreU16Le(0x1010, 6, U);
        Assert.False(e.TestAndClear());
        Assert.Equal(["w@10/2=6"], dev.Calls);
        // With an accelerator that signals eventfds itself, only notifiers it cannot take (no fd)
        // are still signalled here; an eventfd's write goes to the device when it reaches userspace.
        s.IoeventfdsHandledByAccelerator = true;
        space.StoreU16Le(0x1010, 5, U);
        Assert.True(e.TestAndClear());
        using var fd = new EventFdNotifier();
        mr.AddEventfd(0x20, 2, false, 0, fd);
        dev.Calls.Clear();
        space.StoreU16Le(0x1020, 1, U);
        Assert.False(fd.TestAndClear());
        Assert.Equal(["w@20/2=1"], dev.Calls);
        s.IoeventfdsHandledByAccelerator = false;
        space.StoreU16Le(0x1020, 1, U);
        Assert.True(fd.TestAndClear());
    }

    [Fact]
    public void AccessesThatWrapPast2To64AreDefined()
    {
        var (s, root, space) = Machine();
        MemoryRegion top = MemoryRegion.CreateRam(s, "top", 0x1000);
        MemoryRegion bottom = MemoryRegion.CreateRam(s, "bottom", 0x1000);
        root.AddSubregion(0xffff_ffff_ffff_f000, top);
        root.AddSubregion(0, bottom);
        byte[] data = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
        Assert.Equal(MemTxResult.Ok, space.Write(0xffff_ffff_ffff_fff8, data));
        var back = new byte[16];
        Assert.Equal(MemTxResult.Ok, space.Read(0xffff_ffff_ffff_fff8, back));
        Assert.Equal(data, back);
        Assert.Equal(9u, space.LoadU8(0, out _, U));
        // A typed load that straddles the end of a RAM range goes to the RAM region as a device
        // access, which refuses it (QEMU: callers must align).
        Assert.Equal(0UL, space.LoadU64Le(0xffff_ffff_ffff_fffc, out MemTxResult r, U));
        Assert.Equal(MemTxResult.DecodeError, r);
    }

    [Fact]
    public void UnbackedRamCannotBeAccessed()
    {
        var s = new MemorySystem(new MemorySystemOptions { AllocateRam = false });
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        root.AddSubregion(0, MemoryRegion.CreateRam(s, "ram", 1UL << 40));
        Assert.Equal(0u, space.LoadU32Le(0x1000, out MemTxResult r, U));
        Assert.Equal(MemTxResult.DecodeError, r);
        Assert.Equal(MemTxResult.DecodeError, space.Write(0, [1]));
        // Like any non-RAM target, it is mapped through a bounce buffer whose write-back is refused.
        MappedMemory? m = space.Map(0, 0x1000, true, U);
        Assert.True(m!.IsBounce);
        space.Unmap(m, 0x1000);
    }
}
