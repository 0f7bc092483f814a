using CustomerAnalysis.Bench;

// Benchmarks and one-off tools, run with: dotnet run -c Release --project bench/CustomerAnalysis.Bench -- <command>
return BenchCli.Run(args);
