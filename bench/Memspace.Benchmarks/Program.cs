using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project bench/Memspace.Benchmarks -- --filter '*'
// Run one class: ... -- --filter '*RenderBenchmarks*'
// Plain runner for the comparison with rust-vmm's vm-memory (bench/vm-memory-baseline):
//   ... -- workload --regions 64 --mode hot-read
if (args.Length > 0 && args[0] == "workload")
{
    return Memspace.Benchmarks.GuestMemoryWorkloadRunner.Run(args[1..]);
}
BenchmarkSwitcher.FromAssembly(typeof(Memspace.Benchmarks.RenderBenchmarks).Assembly).Run(args);
return 0;
