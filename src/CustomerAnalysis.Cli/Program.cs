using System.CommandLine;
using CustomerAnalysis.Cli;
using CustomerAnalysis.Cli.Commands;

var root = new RootCommand("CustomerAnalysis: next-event and churn prediction from GA4 exports.")
{
    SynthCommand.Create(),
    PrepareCommand.Create(),
};
return await CommandLine.InvokeAsync(root, args);
