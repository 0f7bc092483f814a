using System.CommandLine;
using CustomerAnalysis.Cli;

var root = new RootCommand("CustomerAnalysis: next-event and churn prediction from GA4 exports.")
{
};
return await root.Parse(args).InvokeAsync();
