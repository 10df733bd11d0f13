using BenchmarkDotNet.Running;

// Run all: dotnet run -c Release --project bench/Memspace.Benchmarks -- --filter '*'
// Run one class: ... -- --filter '*RenderBenchmarks*'
BenchmarkSwitcher.FromAssembly(typeof(Memspace.Benchmarks.RenderBenchmarks).Assembly).Run(args);
