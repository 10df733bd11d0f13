using Memspace.Dispatch;
using Memspace.Regions;

namespace Memspace.Tests.Dispatch;

/// <summary>
/// Readers and writers on two threads while a third moves, adds, removes, destroys and resizes RAM
/// and MMIO regions. Every RAM region holds one byte pattern, written only as whole aligned words,
/// so any aligned 8-byte value read must be one pattern repeated, the device's pattern, or 0 where
/// nothing is mapped: anything else is a torn read. Freed RAM is unmapped for real, so a reader that
/// touched it would crash the test process.
/// </summary>
public class ConcurrencyStressTests
{
    private const ulong Window = 16 * 0x10000;
    private const ulong DevicePattern = 0xeeeeeeeeeeeeeeee;
    private static readonly MemTxAttrs U = MemTxAttrs.UnspecifiedAttrs;

    private static ulong Repeat(byte b) => 0x0101010101010101UL * b;

    private static bool Plausible(ulong value, MemTxResult result)
    {
        if (result == MemTxResult.DecodeError)
        {
            return value == 0;
        }
        return result == MemTxResult.Ok && (value == DevicePattern || (value != 0 && value == Repeat((byte)value)));
    }

    [Fact]
    public void ReadersNeverSeeTornOrFreedMemory()
    {
        var s = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(s, "system", MemoryRegion.Size2To64);
        AddressSpace space = s.CreateAddressSpace(root, "memory");
        var deviceOps = new MemoryRegionOps
        {
            Read = (_, _) => DevicePattern,
            Write = (_, _, _) => { },
            Valid = new ValidAccess { MaxAccessSize = 8 },
            Impl = new ImplAccess { MaxAccessSize = 8 },
        };
        int nextPattern = 1;
        MemoryRegion NewRam(ulong size, bool resizeable)
        {
            byte pattern = (byte)(1 + (Interlocked.Increment(ref nextPattern) % 200));
            MemoryRegion mr = MemoryRegion.CreateRam(s, $"ram{nextPattern}", size,
                ram: resizeable ? new Memspace.Ram.RamBlockOptions { MaxSize = 0x10000 } : null);
            // Fill the whole mapping (up to the maximum size), so growing never exposes other bytes.
            using (Memspace.Ram.RamPointer pointer = mr.GetRamPtr())
            {
                // SAFETY: the block maps pointer.Length bytes from pointer.Address, pinned until the handle is disposed.
                unsafe
                {
                    new Span<byte>((void*)pointer.Address, (int)pointer.Length).Fill(pattern);
                }
            }
            return mr;
        }

        var mapped = new List<MemoryRegion>();
        for (ulong slot = 0; slot < 16; slot += 2)
        {
            MemoryRegion mr = NewRam(0x8000, resizeable: slot % 4 == 0);
            root.AddSubregion(slot * 0x10000, mr);
            mapped.Add(mr);
        }

        var failures = new List<string>();
        int running = 1;
        long reads = 0;
        void Fail(string what)
        {
            lock (failures)
            {
                if (failures.Count < 20)
                {
                    failures.Add(what);
                }
            }
        }

        ThreadStart reader(int seed) => () =>
        {
            var rng = new Random(seed);
            var buf = new byte[64];
            try
            {
                while (Volatile.Read(ref running) != 0)
                {
                    ulong a = (ulong)rng.NextInt64(0, (long)(Window / 8)) * 8;
                    ulong v = space.LoadU64Le(a, out MemTxResult r, U);
                    if (!Plausible(v, r))
                    {
                        Fail($"LoadU64Le(0x{a:x}) = 0x{v:x} ({r})");
                    }
                    space.Read(a, buf);
                    for (int i = 0; i + 8 <= buf.Length; i += 8)
                    {
                        ulong w = BitConverter.ToUInt64(buf, i);
                        // Bulk reads report one result for all words; check the words' shapes.
                        if (w != 0 && w != DevicePattern && w != Repeat((byte)w))
                        {
                            Fail($"Read(0x{a:x})[{i}] = 0x{w:x}");
                        }
                    }
                    // Writers store whole pattern words only.
                    space.StoreU64Le(a, Repeat((byte)(1 + rng.Next(200))), U);
                    if (rng.Next(16) == 0 && space.Map(a, 64, false, U) is { } m)
                    {
                        foreach (byte b in m.AsSpan())
                        {
                            _ = b;
                        }
                        space.Unmap(m, 0);
                    }
                    Interlocked.Increment(ref reads);
                }
            }
            catch (Exception e)
            {
                Fail(e.ToString());
            }
        };

        var threads = new[] { new Thread(reader(1)), new Thread(reader(2)) };
        foreach (Thread t in threads)
        {
            t.Start();
        }

        var rng = new Random(42);
        var devices = new List<MemoryRegion>();
        try
        {
            for (int op = 0; op < 20000; op++)
            {
                switch (rng.Next(6))
                {
                    case 0: // move
                        MemoryRegion m = mapped[rng.Next(mapped.Count)];
                        m.SetAddress((ulong)rng.Next(16) * 0x10000 + (ulong)rng.Next(8) * 0x1000);
                        break;
                    case 1: // destroy one and create another in its place
                        int i = rng.Next(mapped.Count);
                        MemoryRegion old = mapped[i];
                        ulong at = old.Address;
                        root.RemoveSubregion(old);
                        old.Destroy();
                        MemoryRegion fresh = NewRam((ulong)(rng.Next(1, 16) * 0x1000), resizeable: rng.Next(2) == 0);
                        root.AddSubregion(at, fresh, rng.Next(-1, 2));
                        mapped[i] = fresh;
                        break;
                    case 2: // resize
                        MemoryRegion rs = mapped[rng.Next(mapped.Count)];
                        if (rs.RamBlock!.Resizeable)
                        {
                            rs.RamResize((ulong)rng.Next(1, 16) * 0x1000);
                        }
                        break;
                    case 3: // add a device
                        MemoryRegion dev = MemoryRegion.CreateIo(s, "dev", (ulong)rng.Next(1, 8) * 0x800, deviceOps);
                        root.AddSubregion((ulong)rng.Next(16) * 0x10000, dev, rng.Next(-1, 3));
                        devices.Add(dev);
                        break;
                    case 4: // remove a device
                        if (devices.Count > 0)
                        {
                            MemoryRegion d = devices[^1];
                            devices.RemoveAt(devices.Count - 1);
                            root.RemoveSubregion(d);
                        }
                        break;
                    case 5: // enable / disable
                        MemoryRegion e = mapped[rng.Next(mapped.Count)];
                        e.SetEnabled(!e.Enabled);
                        break;
                }
            }
        }
        finally
        {
            Volatile.Write(ref running, 0);
            foreach (Thread t in threads)
            {
                t.Join();
            }
        }
        Rcu.Synchronize();
        Assert.Empty(failures);
        Assert.True(Interlocked.Read(ref reads) > 0);
    }
}
