using CsCheck;
using Memspace.Ram;
using Memspace.Regions;

namespace Memspace.Tests.Dispatch;

/// <summary>
/// The fast path (a thread's translation cache in front of the dispatch table) against the slow path
/// that looks every access up: two identical machines, one accessed through the public API and one
/// through the slow path only, given the same random accesses and topology changes; every result and
/// every byte of memory must agree, including right after a commit (no stale translation).
/// </summary>
public class FastPathPropertyTests
{
    private sealed class Board
    {
        public Board(int seed)
        {
            System = new MemorySystem();
            Root = MemoryRegion.CreateContainer(System, "system", MemoryRegion.Size2To64);
            Space = System.CreateAddressSpace(Root, "memory");
            var rng = new Random(seed);
            using (System.Transaction())
            {
                MemoryRegion ram = MemoryRegion.CreateRam(System, "ram", 0x8000);
                Root.AddSubregion(0, ram);
                MemoryRegion rom = MemoryRegion.CreateRom(System, "rom", 0x2000);
                Root.AddSubregion(0x9000, rom);
                MemoryRegion logged = MemoryRegion.CreateRam(System, "vram", 0x2000);
                logged.SetLog(true, DirtyMemoryClient.Vga);
                Root.AddSubregion(0xc000, logged);
                MemoryRegion romd = MemoryRegion.CreateRomDevice(System, "flash", 0x2000, new MemoryRegionOps
                {
                    Read = (a, s) => 0xf1a5_0000UL + a,
                    Write = (_, _, _) => { },
                });
                Root.AddSubregion(0xe000, romd);
                MemoryRegion mmio = MemoryRegion.CreateIo(System, "dev", 0x1000, new MemoryRegionOps
                {
                    Read = (a, s) => 0xdead_0000UL + a,
                    Write = (_, _, _) => { },
                });
                Root.AddSubregion(0x10000, mmio);
                MemoryRegion window = MemoryRegion.CreateAlias(System, "ro-window", ram, 0x1800, 0x1000);
                window.SetReadOnly(true);
                Root.AddSubregion(0x11800, window);
                Root.AddSubregion(0x13000, MemoryRegion.CreateAlias(System, "rw-window", ram, 0x3000, 0x2800));
                Movable = MemoryRegion.CreateRam(System, "movable", 0x1000);
                Root.AddSubregion(0x20000, Movable, 1);
                Regions = [ram, rom, logged, romd, mmio, window, Movable];
            }
            // The same contents in every board built from the same seed.
            byte[] fill = new byte[0x2000];
            rng.NextBytes(fill);
            Space.WriteRom(0, fill, MemTxAttrs.UnspecifiedAttrs);
            Space.WriteRom(0x2000, fill, MemTxAttrs.UnspecifiedAttrs);
            Space.WriteRom(0x9000, fill, MemTxAttrs.UnspecifiedAttrs);
            Space.WriteRom(0xe000, fill, MemTxAttrs.UnspecifiedAttrs);
        }

        public MemorySystem System { get; }

        public MemoryRegion Root { get; }

        public AddressSpace Space { get; }

        public MemoryRegion Movable { get; } = null!;

        public List<MemoryRegion> Regions { get; } = [];
    }

    private static readonly ulong[] s_anchors = [0, 0x7ff8, 0x8000, 0x9000, 0xaffc, 0xc000, 0xdffe, 0xe000, 0x10000, 0x11800, 0x127f9, 0x13000, 0x157fc, 0x20000, 0x20ffd, 0x30000];

    [Fact]
    public void TheTranslationCacheNeverChangesAResult()
    {
        var access = Gen.Select(Gen.Int[0, 9], Gen.Int[0, s_anchors.Length - 1], Gen.Int[-16, 16], Gen.Int[0, 3], Gen.ULong, Gen.Bool);
        Gen.Select(Gen.Int[0, 1000], access.Array[1, 60]).Sample((seed, accesses) =>
        {
            var fast = new Board(seed);
            var slow = new Board(seed);
            foreach (var (op, anchor, delta, sizeIndex, value, bigEndian) in accesses)
            {
                ulong address = s_anchors[anchor] + (ulong)(long)delta;
                uint size = 1u << sizeIndex;
                switch (op)
                {
                    case 0 or 1 or 2 or 3:
                        MemTxResult r1;
                        ulong a = size switch
                        {
                            1 => fast.Space.LoadU8(address, out r1, MemTxAttrs.UnspecifiedAttrs),
                            2 => bigEndian ? fast.Space.LoadU16Be(address, out r1, MemTxAttrs.UnspecifiedAttrs) : fast.Space.LoadU16Le(address, out r1, MemTxAttrs.UnspecifiedAttrs),
                            4 => bigEndian ? fast.Space.LoadU32Be(address, out r1, MemTxAttrs.UnspecifiedAttrs) : fast.Space.LoadU32Le(address, out r1, MemTxAttrs.UnspecifiedAttrs),
                            _ => bigEndian ? fast.Space.LoadU64Be(address, out r1, MemTxAttrs.UnspecifiedAttrs) : fast.Space.LoadU64Le(address, out r1, MemTxAttrs.UnspecifiedAttrs),
                        };
                        ulong b = slow.Space.LoadSlow(address, size, size > 1 && bigEndian, out MemTxResult r2, MemTxAttrs.UnspecifiedAttrs);
                        Assert.Equal((b, r2), (a, r1));
                        break;
                    case 4 or 5 or 6:
                        ulong v = size == 8 ? value : value & ((1UL << (int)(size * 8)) - 1);
                        MemTxResult w1 = size switch
                        {
                            1 => fast.Space.StoreU8(address, (byte)v, MemTxAttrs.UnspecifiedAttrs),
                            2 => bigEndian ? fast.Space.StoreU16Be(address, (ushort)v, MemTxAttrs.UnspecifiedAttrs) : fast.Space.StoreU16Le(address, (ushort)v, MemTxAttrs.UnspecifiedAttrs),
                            4 => bigEndian ? fast.Space.StoreU32Be(address, (uint)v, MemTxAttrs.UnspecifiedAttrs) : fast.Space.StoreU32Le(address, (uint)v, MemTxAttrs.UnspecifiedAttrs),
                            _ => bigEndian ? fast.Space.StoreU64Be(address, v, MemTxAttrs.UnspecifiedAttrs) : fast.Space.StoreU64Le(address, v, MemTxAttrs.UnspecifiedAttrs),
                        };
                        Assert.Equal(slow.Space.StoreSlow(address, v, size, size > 1 && bigEndian, MemTxAttrs.UnspecifiedAttrs), w1);
                        break;
                    case 7:
                        // Bulk: a span through Read (translation cache first) against the slow path's bulk read.
                        int length = 1 + (int)(value % 64);
                        byte[] got = new byte[length];
                        byte[] expected = new byte[length];
                        Assert.Equal(slow.Space.ReadSlow(address, expected, MemTxAttrs.UnspecifiedAttrs), fast.Space.Read(address, got, MemTxAttrs.UnspecifiedAttrs));
                        Assert.Equal(expected, got);
                        break;
                    case 8:
                        // A topology change between accesses: the next access must see it.
                        foreach (Board board in new[] { fast, slow })
                        {
                            board.Movable.SetAddress(board.Movable.Address == 0x20000 ? 0x1000UL : 0x20000UL);
                        }
                        break;
                    default:
                        foreach (Board board in new[] { fast, slow })
                        {
                            MemoryRegion r = board.Regions[(int)(value % (ulong)board.Regions.Count)];
                            r.SetEnabled(!r.Enabled);
                        }
                        break;
                }
            }
            // Every byte ends up the same in both.
            for (ulong a = 0; a < 0x21000; a += 8)
            {
                Assert.Equal(slow.Space.LoadSlow(a, 8, false, out MemTxResult rs, MemTxAttrs.UnspecifiedAttrs),
                             fast.Space.LoadSlow(a, 8, false, out MemTxResult rf, MemTxAttrs.UnspecifiedAttrs));
                Assert.Equal(rs, rf);
            }
            fast.System.Dispose();
            slow.System.Dispose();
        }, iter: 300, threads: 1);
    }
}
