using CustomerAnalysis.Cli;

return await CommandLine.InvokeAsync(CaCommand.Create(), args);
