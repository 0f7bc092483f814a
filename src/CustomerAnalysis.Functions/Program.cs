using CustomerAnalysis.Functions;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddCustomerAnalysisFunctions(FunctionsStartup.LoadConfig());
builder.Build().Run();
