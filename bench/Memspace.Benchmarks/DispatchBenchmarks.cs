using BenchmarkDotNet.Attributes;
using Memspace.Core;
using Memspace.Regions;

namespace Memspace.Benchmarks;

/// <summary>
/// Guest accesses through an address space against the same work done directly, in one run:
/// 8-byte RAM reads and writes at pseudo-random offsets (baseline: a raw pointer read at the same
/// offsets), a 4-byte MMIO read (baseline: the same callback called directly) and a 1 MiB bulk read
/// (baseline: a plain memory copy).
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private const int Accesses = 4096;
    private const ulong RamBytes = 16 << 20;
    private const ulong RamBase = 0x1_0000_0000;
    private const ulong MmioBase = 0xfe00_0000;

    private MemorySystem _system = null!;
    private AddressSpace _space = null!;
    private nint _raw;
    private ulong[] _offsets = null!;
    private MemoryRegionReadHandler _callback = null!;
    private byte[] _bulk = null!;
    private uint _register;

    /// <summary>Number of RAM regions the 16 MiB are split into (each its own RAMBlock and flat range).</summary>
    [Params(1, 1024)]
    public int RamRegions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _system = new MemorySystem();
        MemoryRegion root = MemoryRegion.CreateContainer(_system, "system", MemoryRegion.Size2To64);
        _space = _system.CreateAddressSpace(root, "memory");
        ulong each = RamBytes / (ulong)RamRegions;
        using (_system.Transaction())
        {
            for (int i = 0; i < RamRegions; i++)
            {
                root.AddSubregion(RamBase + ((ulong)i * each), MemoryRegion.CreateRam(_system, $"ram{i}", each));
            }
            _callback = (addr, _) => _register + addr;
            root.AddSubregion(MmioBase, MemoryRegion.CreateIo(_system, "mmio", 0x1000, new MemoryRegionOps
            {
                Read = _callback,
                Write = (_, v, _) => _register = (uint)v,
                Valid = new ValidAccess { MinAccessSize = 4, MaxAccessSize = 4 },
                Impl = new ImplAccess { MinAccessSize = 4, MaxAccessSize = 4 },
            }));
        }
        // SAFETY: a fresh RamBytes-byte allocation, freed only in Cleanup.
        unsafe
        {
            _raw = (nint)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)RamBytes, 4096);
            new Span<byte>((void*)_raw, (int)RamBytes).Fill(1);
        }
        var fill = new byte[1 << 20];
        Array.Fill(fill, (byte)1);
        for (ulong a = 0; a < RamBytes; a += (ulong)fill.Length)
        {
            _space.Write(RamBase + a, fill);
        }
        var rng = new Random(1);
        _offsets = [.. Enumerable.Range(0, Accesses).Select(_ => (ulong)rng.NextInt64(0, (long)(RamBytes / 8)) * 8)];
        _bulk = new byte[1 << 20];
    }

    [GlobalCleanup]
    // SAFETY: frees the allocation made in Setup, once, after the last benchmark.
    public unsafe void Cleanup()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree((void*)_raw);
        _system.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Accesses)]
    // SAFETY: every offset is below RamBytes - 8 and the allocation lives from Setup to Cleanup.
    public unsafe ulong RawPointerRead8()
    {
        ulong sum = 0;
        byte* raw = (byte*)_raw;
        foreach (ulong o in _offsets)
        {
            sum += *(ulong*)(raw + o);
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong AddressSpaceRead8()
    {
        ulong sum = 0;
        AddressSpace space = _space;
        foreach (ulong o in _offsets)
        {
            sum += space.LoadU64Le(RamBase + o, out _, MemTxAttrs.UnspecifiedAttrs);
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public void AddressSpaceWrite8()
    {
        AddressSpace space = _space;
        foreach (ulong o in _offsets)
        {
            space.StoreU64Le(RamBase + o, o, MemTxAttrs.UnspecifiedAttrs);
        }
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong DirectCallbackRead4()
    {
        ulong sum = 0;
        MemoryRegionReadHandler callback = _callback;
        for (int i = 0; i < Accesses; i++)
        {
            sum += callback((ulong)(i & 0x3fc), 4);
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong MmioRead4()
    {
        ulong sum = 0;
        AddressSpace space = _space;
        for (int i = 0; i < Accesses; i++)
        {
            sum += space.LoadU32Le(MmioBase + (ulong)(i & 0x3fc), out _, MemTxAttrs.UnspecifiedAttrs);
        }
        return sum;
    }

    [Benchmark]
    // SAFETY: 4 MiB + 1 MiB lies inside the 16 MiB allocation, which lives from Setup to Cleanup.
    public unsafe void MemoryCopy1MiB() => new ReadOnlySpan<byte>((byte*)_raw + (4 << 20), _bulk.Length).CopyTo(_bulk);

    [Benchmark]
    public MemTxResult BulkRead1MiB() => _space.Read(RamBase + (4 << 20), _bulk);
}
