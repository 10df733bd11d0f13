using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Memspace.Core;

namespace Memspace.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/Memspace.Benchmarks -- workload [--regions N] [--mode M] ...</c>:
/// the guest-memory workload with a plain Stopwatch, taking the same arguments and printing the same
/// line as bench/vm-memory-baseline (rust-vmm vm-memory 0.10), so that bench/vm-memory-baseline/compare.sh
/// can run the two alternately. Each measurement runs its baseline and the API alternately in the same
/// process, <c>--warmup</c> untimed rounds then <c>--runs</c> timed ones, and reports the medians.
/// </summary>
internal static class GuestMemoryWorkloadRunner
{
    private const string Usage = "usage: workload [--regions N] [--mode hot-read|cold-read|hot-write|bulk-read|bulk-write|all] "
        + "[--size BYTES (bulk; default 4096)] [--passes P (default 64)] [--runs R (default 7)] [--warmup W (default 2)] [--thp madvise|off] "
        + "[--api address-space|accessor (default address-space: AddressSpace.LoadU64Le; accessor: a GuestMemoryAccessor's)] "
        + "[--page-index on|off (default on; off: dispatch tables never build their page index, to measure what it gives)]";

    private sealed record Options(int Regions, List<(string Mode, int Size)> Modes, int Passes, int Runs, int Warmup, bool Thp, bool Accessor);

    public static int Run(string[] args)
    {
        Options? options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
        if (options is null)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        using var workload = new GuestMemoryWorkload(options.Regions, options.Thp);
        foreach ((string mode, int size) in options.Modes)
        {
            (long ops, string baseline, double baseNs, double apiNs) = Measure(workload, mode, size, options);
            double b = baseNs / ops, a = apiNs / ops;
            string speed = baseline == "memcpy" ? FormattableString.Invariant($" speed_vs_memcpy={b / a:F3}") : "";
            Console.WriteLine(FormattableString.Invariant(
                $"workload impl=memspace{(options.Accessor ? "-accessor" : "")} mode={mode} regions={options.Regions} size={size} passes={options.Passes} ops={ops} runs={options.Runs} api_ns={a:F3} base={baseline} base_ns={b:F3} api_over_base={a / b:F3}{speed} {workload.PageReport()} check=ok"));
        }
        return 0;
    }

    private static Options? Parse(string[] args)
    {
        int regions = 1, size = 4096, passes = 64, runs = 7, warmup = 2;
        string mode = "hot-read";
        bool thp = true;
        bool accessor = false;
        for (int i = 0; i < args.Length; i += 2)
        {
            string key = args[i];
            if (key is "-h" or "--help")
            {
                return null;
            }
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{key} needs a value");
            }
            string value = args[i + 1];
            int Number() => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n
                : throw new ArgumentException($"{key}: not a number: {value}");
            switch (key)
            {
                case "--regions": regions = Number(); break;
                case "--mode": mode = value; break;
                case "--size": size = Number(); break;
                case "--passes": passes = Number(); break;
                case "--runs": runs = Number(); break;
                case "--warmup": warmup = Number(); break;
                case "--api":
                    accessor = value switch
                    {
                        "address-space" => false,
                        "accessor" => true,
                        _ => throw new ArgumentException($"--api: address-space or accessor, not {value}"),
                    };
                    break;
                case "--page-index":
                    Dispatch.DispatchTable.RadixThreshold = value switch
                    {
                        "on" => Dispatch.DispatchTable.RadixThreshold,
                        "off" => int.MaxValue / 2,
                        _ => throw new ArgumentException($"--page-index: on or off, not {value}"),
                    };
                    break;
                case "--thp":
                    thp = value switch
                    {
                        "madvise" => true,
                        "off" => false,
                        _ => throw new ArgumentException($"--thp: madvise or off, not {value}"),
                    };
                    break;
                default: throw new ArgumentException($"unknown argument {key}");
            }
        }
        ulong ram = GuestMemoryWorkload.RamBytes;
        if (regions <= 0 || ram % (ulong)regions != 0 || ram / (ulong)regions % 4096 != 0)
        {
            throw new ArgumentException($"--regions {regions}: 256 MiB must split into equal multiples of 4 KiB");
        }
        if (size <= 0 || size % 8 != 0 || GuestMemoryWorkload.BulkAddress + (ulong)size > ram)
        {
            throw new ArgumentException($"--size {size}: a multiple of 8 up to {ram - GuestMemoryWorkload.BulkAddress} bytes");
        }
        if (passes <= 0 || runs <= 0 || warmup < 0)
        {
            throw new ArgumentException("--passes and --runs must be at least 1");
        }
        List<(string, int)> modes = mode switch
        {
            "hot-read" or "cold-read" or "hot-write" => [(mode, 8)],
            "bulk-read" or "bulk-write" => [(mode, size)],
            "all" => [("hot-read", 8), ("cold-read", 8), ("hot-write", 8), ("bulk-read", 4096), ("bulk-read", 1 << 20), ("bulk-write", 4096), ("bulk-write", 1 << 20)],
            _ => throw new ArgumentException($"unknown --mode {mode}"),
        };
        return new Options(regions, modes, passes, runs, warmup, thp, accessor);
    }

    private static (long Ops, string Baseline, double BaseNs, double ApiNs) Measure(GuestMemoryWorkload w, string mode, int size, Options o)
    {
        AddressSpace memory = w.Memory;
        using GuestMemoryAccessor accessor = memory.CreateAccessor();
        int passes = o.Passes;
        switch (mode)
        {
            case "hot-read" or "cold-read":
            {
                ulong[] offsets = GuestMemoryWorkload.Offsets(mode == "hot-read" ? GuestMemoryWorkload.HotMask : GuestMemoryWorkload.ColdMask);
                nint[] pointers = w.HostPointers(offsets);
                ulong expected = GuestMemoryWorkload.PassSum(offsets) * (ulong)passes;
                (double b, double a) = Time(o,
                    () => GuestMemoryWorkload.RawRead(pointers, passes) == expected,
                    () => (o.Accessor ? GuestMemoryWorkload.AccessorRead(accessor, offsets, passes, out int errors) : GuestMemoryWorkload.LoadRead(memory, offsets, passes, out errors)) == expected && errors == 0);
                return ((long)passes * offsets.Length, "raw-pointer", b, a);
            }
            case "hot-write":
            {
                ulong[] offsets = GuestMemoryWorkload.Offsets(GuestMemoryWorkload.HotMask);
                nint[] pointers = w.HostPointers(offsets);
                (double b, double a) = Time(o,
                    () =>
                    {
                        GuestMemoryWorkload.RawWrite(pointers, offsets, passes);
                        return true;
                    },
                    () => (o.Accessor ? GuestMemoryWorkload.AccessorWrite(accessor, offsets, passes) : GuestMemoryWorkload.StoreWrite(memory, offsets, passes)) == 0);
                foreach (ulong g in offsets)
                {
                    Check(w.PatternHolds(g, 8), $"memory lost its pattern at 0x{g:x}");
                }
                return ((long)passes * offsets.Length, "raw-pointer", b, a);
            }
            case "bulk-read":
            {
                int ops = passes * Math.Max(1, (1 << 20) / size);
                (nint, int)[] pieces = w.Pieces(GuestMemoryWorkload.BulkAddress, size);
                byte[] buffer = new byte[size];
                bool Holds()
                {
                    ulong first = BitConverter.ToUInt64(buffer, 0), last = BitConverter.ToUInt64(buffer, size - 8);
                    return first == GuestMemoryWorkload.BulkAddress && last == GuestMemoryWorkload.BulkAddress + (ulong)size - 8;
                }
                (double b, double a) = Time(o,
                    () =>
                    {
                        Spoil(buffer);
                        CopyOutLoop(pieces, buffer, ops);
                        return Holds();
                    },
                    () =>
                    {
                        Spoil(buffer);
                        return ReadLoop(memory, buffer, ops) == 0 && Holds();
                    });
                return (ops, "memcpy", b, a);
            }
            case "bulk-write":
            {
                int ops = passes * Math.Max(1, (1 << 20) / size);
                (nint, int)[] pieces = w.Pieces(GuestMemoryWorkload.BulkAddress, size);
                byte[] buffer = new byte[size];
                GuestMemoryWorkload.FillPattern(buffer, GuestMemoryWorkload.BulkAddress);
                (double b, double a) = Time(o,
                    () =>
                    {
                        CopyInLoop(pieces, buffer, ops);
                        return true;
                    },
                    () => WriteLoop(memory, buffer, ops) == 0);
                Check(w.PatternHolds(GuestMemoryWorkload.BulkAddress, size), "memory lost its pattern after the bulk writes");
                return (ops, "memcpy", b, a);
            }
            default:
                throw new ArgumentException($"unknown mode {mode}");
        }
    }

    /// <summary>Runs the baseline and the API alternately; the medians in nanoseconds.</summary>
    private static (double BaseNs, double ApiNs) Time(Options o, Func<bool> baseline, Func<bool> api)
    {
        var baseNs = new List<double>();
        var apiNs = new List<double>();
        for (int round = 0; round < o.Warmup + o.Runs; round++)
        {
            long t0 = Stopwatch.GetTimestamp();
            bool baseOk = baseline();
            long t1 = Stopwatch.GetTimestamp();
            bool apiOk = api();
            long t2 = Stopwatch.GetTimestamp();
            Check(baseOk, "baseline result is wrong");
            Check(apiOk, "Memspace result is wrong");
            if (round >= o.Warmup)
            {
                baseNs.Add((t1 - t0) * 1e9 / Stopwatch.Frequency);
                apiNs.Add((t2 - t1) * 1e9 / Stopwatch.Frequency);
            }
        }
        return (Median(baseNs), Median(apiNs));
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        int n = values.Count;
        return n % 2 == 1 ? values[n / 2] : (values[(n / 2) - 1] + values[n / 2]) / 2;
    }

    /// <summary>
    /// Overwrites the first and last u64 of a bulk-read buffer, so that the check after a run shows
    /// that the run itself filled it.
    /// </summary>
    private static void Spoil(byte[] buffer)
    {
        buffer.AsSpan(0, 8).Fill(0xff);
        buffer.AsSpan(buffer.Length - 8).Fill(0xff);
    }

    private static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidOperationException(what);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyOutLoop((nint, int)[] pieces, byte[] buffer, int ops)
    {
        for (int i = 0; i < ops; i++)
        {
            GuestMemoryWorkload.CopyOut(pieces, buffer);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyInLoop((nint, int)[] pieces, byte[] buffer, int ops)
    {
        for (int i = 0; i < ops; i++)
        {
            GuestMemoryWorkload.CopyIn(pieces, buffer);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ReadLoop(AddressSpace memory, byte[] buffer, int ops)
    {
        int bad = 0;
        MemTxAttrs attrs = MemTxAttrs.UnspecifiedAttrs;
        for (int i = 0; i < ops; i++)
        {
            if (memory.Read(GuestMemoryWorkload.BulkAddress, buffer, attrs) != MemTxResult.Ok)
            {
                bad++;
            }
        }
        return bad;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int WriteLoop(AddressSpace memory, byte[] buffer, int ops)
    {
        int bad = 0;
        MemTxAttrs attrs = MemTxAttrs.UnspecifiedAttrs;
        for (int i = 0; i < ops; i++)
        {
            if (memory.Write(GuestMemoryWorkload.BulkAddress, buffer, attrs) != MemTxResult.Ok)
            {
                bad++;
            }
        }
        return bad;
    }
}
