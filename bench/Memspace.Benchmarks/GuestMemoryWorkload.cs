using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Memspace.Core;
using Memspace.Ram;
using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>
/// The guest-memory workload compared with rust-vmm's vm-memory (bench/vm-memory-baseline), shared by
/// the <c>workload</c> runner (<see cref="GuestMemoryWorkloadRunner"/>) and
/// <see cref="GuestMemoryWorkloadBenchmarks"/>: 256 MiB of guest RAM split into N equal RAM regions
/// contiguous from guest address 0, every u64 holding its own guest address; 65,536 offsets from
/// xorshift64, masked "cold" (anywhere) or "hot" (first 512 bytes of each of the 1024 256-KiB chunks).
/// The baselines touch the same offsets through raw pointers into the same host mappings, or copy the
/// same bytes with a plain memory copy. Everything here is Memspace's public API.
/// </summary>
internal sealed partial class GuestMemoryWorkload : IDisposable
{
    public const ulong RamBytes = 256 << 20;
    public const int Accesses = 65_536;
    public const ulong Seed = 0x9E37_79B9_7F4A_7C15;
    public const ulong ColdMask = 0x0FFF_FFF8;
    public const ulong HotMask = 0x0FFC_01F8;

    /// <summary>Guest address of every bulk access (4 MiB in; with 1024 regions a 1 MiB access spans 4).</summary>
    public const ulong BulkAddress = 0x40_0000;

    private const int MadvNoHugePage = 15;

    private readonly nint[] _hosts;
    private readonly RamPointer[] _pins;

    /// <summary>Creates the RAM, lays out the regions and fills every u64 with its guest address.</summary>
    /// <param name="regions">Number of equal RAM regions (256 MiB must split into multiples of 4 KiB).</param>
    /// <param name="thp">
    /// Leave transparent huge pages as Memspace asks for them (as QEMU does, madvise on private
    /// anonymous RAM); false advises against them before the first touch.
    /// </param>
    public GuestMemoryWorkload(int regions, bool thp = true)
    {
        if (regions <= 0 || RamBytes % (ulong)regions != 0 || RamBytes / (ulong)regions % 4096 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(regions), regions, "256 MiB must split into equal multiples of 4 KiB");
        }
        Regions = regions;
        Each = RamBytes / (ulong)regions;
        System = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(System, "system", MemoryRegion.Size2To64);
        Memory = System.CreateAddressSpace(root, "memory");
        var ram = new MemoryRegion[regions];
        using (System.Transaction())
        {
            for (int i = 0; i < regions; i++)
            {
                ram[i] = MemoryRegion.CreateRam(System, $"ram{i}", Each);
                root.AddSubregion((ulong)i * Each, ram[i]);
            }
        }
        _hosts = new nint[regions];
        _pins = new RamPointer[regions];
        for (int i = 0; i < regions; i++)
        {
            _pins[i] = ram[i].GetRamPtr();
            nint host = _pins[i].Address;
            _hosts[i] = host;
            if (!thp)
            {
                _ = Madvise(host, (nuint)Each, MadvNoHugePage);
            }
            ulong start = (ulong)i * Each;
            // SAFETY: the region's RAM maps Each bytes from host; the system lives as long as this object.
            unsafe
            {
                ulong* p = (ulong*)host;
                for (ulong j = 0; j < Each / 8; j++)
                {
                    p[j] = start + (j * 8);
                }
            }
        }
    }

    public MemorySystem System { get; }

    public AddressSpace Memory { get; }

    public int Regions { get; }

    /// <summary>Bytes in each region.</summary>
    public ulong Each { get; }

    /// <summary>The 65,536 offsets (guest addresses): the xorshift64 step, then the value, masked.</summary>
    public static ulong[] Offsets(ulong mask)
    {
        var offsets = new ulong[Accesses];
        ulong x = Seed;
        for (int i = 0; i < offsets.Length; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            offsets[i] = x & mask;
        }
        return offsets;
    }

    /// <summary>What one pass over <paramref name="offsets"/> reads: their sum (each u64 holds its address).</summary>
    public static ulong PassSum(ulong[] offsets)
    {
        ulong sum = 0;
        foreach (ulong o in offsets)
        {
            sum += o;
        }
        return sum;
    }

    /// <summary>Host address of guest address <paramref name="guest"/>.</summary>
    public nint Host(ulong guest) => _hosts[(int)(guest / Each)] + (nint)(guest % Each);

    /// <summary>Host addresses of <paramref name="offsets"/>, for the raw-pointer baselines.</summary>
    public nint[] HostPointers(ulong[] offsets) => [.. offsets.Select(Host)];

    /// <summary>The host pieces (one per region crossed) holding guest bytes [guest, guest + length).</summary>
    public (nint Host, int Length)[] Pieces(ulong guest, int length)
    {
        var pieces = new List<(nint, int)>();
        ulong left = (ulong)length;
        while (left > 0)
        {
            ulong n = Math.Min(left, Each - (guest % Each));
            pieces.Add((Host(guest), (int)n));
            guest += n;
            left -= n;
        }
        return [.. pieces];
    }

    /// <summary>Whether guest bytes [guest, guest + length) still hold their addresses.</summary>
    // SAFETY: Host maps a guest address inside the 256 MiB of RAM to its host byte; callers stay inside it.
    public unsafe bool PatternHolds(ulong guest, int length)
    {
        for (ulong a = guest; a < guest + (ulong)length; a += 8)
        {
            if (*(ulong*)Host(a) != a)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Fills <paramref name="buffer"/> with what guest memory at <paramref name="guest"/> holds.</summary>
    public static void FillPattern(Span<byte> buffer, ulong guest)
    {
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(buffer);
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = guest + ((ulong)i * 8);
        }
    }

    /// <summary>
    /// Which page size the RAM got, from the <c>/proc/self/smaps</c> entries of the mappings holding
    /// it: <c>page=4k|2M-thp|4k+2M-thp|NNk-hugetlb thp_pct=.. kernel_page_kb=.. ram_vmas=..</c>.
    /// </summary>
    public string PageReport()
    {
        var vmas = new List<(ulong Start, ulong End, ulong HugeKb, ulong KernelPageKb)>();
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            string first = line.Split(' ', 2)[0];
            int dash = first.IndexOf('-');
            if (dash > 0
                && ulong.TryParse(first.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong start)
                && ulong.TryParse(first.AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong end))
            {
                vmas.Add((start, end, 0, 0));
                continue;
            }
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length < 2 || vmas.Count == 0 || !ulong.TryParse(words[1], CultureInfo.InvariantCulture, out ulong value))
            {
                continue;
            }
            var last = vmas[^1];
            if (words[0] == "AnonHugePages:")
            {
                vmas[^1] = last with { HugeKb = value };
            }
            else if (words[0] == "KernelPageSize:")
            {
                vmas[^1] = last with { KernelPageKb = value };
            }
        }
        var used = new SortedSet<int>();
        foreach (nint h in _hosts)
        {
            ulong lo = (ulong)h, hi = (ulong)h + Each;
            for (int i = 0; i < vmas.Count; i++)
            {
                if (vmas[i].Start < hi && lo < vmas[i].End)
                {
                    used.Add(i);
                }
            }
        }
        ulong hugeKb = 0, kernelPageKb = 0;
        foreach (int i in used)
        {
            hugeKb += vmas[i].HugeKb;
            kernelPageKb = Math.Max(kernelPageKb, vmas[i].KernelPageKb);
        }
        ulong ramKb = RamBytes >> 10;
        ulong thpPct = Math.Min(hugeKb, ramKb) * 100 / ramKb;
        string page = kernelPageKb > 4 ? $"{kernelPageKb}k-hugetlb"
            : thpPct >= 90 ? "2M-thp"
            : thpPct == 0 ? "4k"
            : "4k+2M-thp";
        return $"page={page} thp_pct={thpPct} kernel_page_kb={kernelPageKb} ram_vmas={used.Count}";
    }

    public void Dispose()
    {
        foreach (RamPointer pin in _pins)
        {
            pin.Dispose();
        }
        System.Dispose();
    }

    // The loops, shared by the runner and the BenchmarkDotNet class. Fully optimized from the first
    // call: the runner calls each only a few times, too few for tiered compilation to reach tier 1.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // SAFETY: the pointers come from Host() for offsets inside the RAM, which lives as long as the workload.
    public static unsafe ulong RawRead(nint[] pointers, int passes)
    {
        ulong sum = 0;
        for (int pass = 0; pass < passes; pass++)
        {
            foreach (nint p in pointers)
            {
                sum += *(ulong*)p;
            }
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong LoadRead(AddressSpace memory, ulong[] offsets, int passes, out int errors)
    {
        ulong sum = 0;
        int bad = 0;
        MemTxAttrs attrs = MemTxAttrs.UnspecifiedAttrs;
        for (int pass = 0; pass < passes; pass++)
        {
            foreach (ulong o in offsets)
            {
                sum += memory.LoadU64Le(o, out MemTxResult r, attrs);
                if (r != MemTxResult.Ok)
                {
                    bad++;
                }
            }
        }
        errors = bad;
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong AccessorRead(GuestMemoryAccessor memory, ulong[] offsets, int passes, out int errors)
    {
        ulong sum = 0;
        int bad = 0;
        MemTxAttrs attrs = MemTxAttrs.UnspecifiedAttrs;
        for (int pass = 0; pass < passes; pass++)
        {
            foreach (ulong o in offsets)
            {
                sum += memory.LoadU64Le(o, out MemTxResult r, attrs);
                if (r != MemTxResult.Ok)
                {
                    bad++;
                }
            }
        }
        errors = bad;
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int AccessorWrite(GuestMemoryAccessor memory, ulong[] offsets, int passes)
    {
        int bad = 0;
        MemTxAttrs attrs = MemTxAttrs.UnspecifiedAttrs;
        for (int pass = 0; pass < passes; pass++)
        {
            foreach (ulong o in offsets)
            {
                if (memory.StoreU64Le(o, o, attrs) != MemTxResult.Ok)
                {
                    bad++;
                }
            }
        }
        return bad;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // SAFETY: the pointers come from Host() for offsets inside the RAM, which lives as long as the workload.
    public static unsafe void RawWrite(nint[] pointers, ulong[] offsets, int passes)
    {
        for (int pass = 0; pass < passes; pass++)
        {
            for (int i = 0; i < pointers.Length && i < offsets.Length; i++)
            {
                *(ulong*)pointers[i] = offsets[i];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int StoreWrite(AddressSpace memory, ulong[] offsets, int passes)
    {
        int bad = 0;
        MemTxAttrs attrs = MemTxAttrs.UnspecifiedAttrs;
        for (int pass = 0; pass < passes; pass++)
        {
            foreach (ulong o in offsets)
            {
                if (memory.StoreU64Le(o, o, attrs) != MemTxResult.Ok)
                {
                    bad++;
                }
            }
        }
        return bad;
    }

    /// <summary>Plain memory copy of the pieces into <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // SAFETY: each piece is a host range inside one region's RAM, from Pieces(); destination is as long as their sum.
    public static unsafe void CopyOut((nint Host, int Length)[] pieces, Span<byte> destination)
    {
        int at = 0;
        foreach ((nint host, int length) in pieces)
        {
            new ReadOnlySpan<byte>((void*)host, length).CopyTo(destination.Slice(at, length));
            at += length;
        }
    }

    /// <summary>Plain memory copy of <paramref name="source"/> into the pieces.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // SAFETY: as CopyOut, with source as long as the pieces.
    public static unsafe void CopyIn((nint Host, int Length)[] pieces, ReadOnlySpan<byte> source)
    {
        int at = 0;
        foreach ((nint host, int length) in pieces)
        {
            source.Slice(at, length).CopyTo(new Span<byte>((void*)host, length));
            at += length;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
