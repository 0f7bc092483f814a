using CustomerAnalysis.TrialWorker;
using Microsoft.Extensions.Hosting;

// A trial worker: takes trial and evaluation items from the trial queue until stopped (SIGTERM: the item in hand is
// left to reappear after its lease). Settings: --config <pipeline.json> (default config/pipeline.json), and the
// environment: CA_STORAGE_CONNECTION_STRING, CA_WORKER_NAME.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddTrialWorkerHost(WorkerSettings.From(builder.Configuration));
await builder.Build().RunAsync();
