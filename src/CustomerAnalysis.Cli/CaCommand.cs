using System.CommandLine;
using CustomerAnalysis.Cli.Commands;

namespace CustomerAnalysis.Cli;

/// <summary>The <c>ca</c> root command with every subcommand: what Program.cs runs and what tests invoke in-process.</summary>
public static class CaCommand
{
    public static RootCommand Create() => new("CustomerAnalysis: next-event and churn prediction from GA4 exports.")
    {
        SynthCommand.Create(),
        PrepareCommand.Create(),
        TrainCommand.Create(),
        PredictCommand.Create(),
        ServeCommand.Create(),
        RunCommand.Create(),
        ScoreCommand.Create(),
    };
}
