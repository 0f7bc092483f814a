using System.CommandLine;
using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;

namespace CustomerAnalysis.Cli.Commands;

/// <summary><c>ca prepare</c>: a GA4 export → labelled, split sequences with their vocabulary and counts.</summary>
public static class PrepareCommand
{
    public static Command Create()
    {
        var input = SharedOptions.Input();
        var task = SharedOptions.Task();
        var output = SharedOptions.OutputFolder("Folder for the prepared dataset.");
        var config = SharedOptions.DataConfig();
        var protocol = SharedOptions.Protocol();
        var json = SharedOptions.Json();

        var command = new Command("prepare", "Read a GA4 export, label it and write train/val/test sequences.")
        {
            input, task, output, config, protocol, json,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var dataset = await DatasetInputs.PrepareAsync(parsed.GetValue(input)!, parsed.GetValue(task),
                parsed.GetValue(config), parsed.GetValue(protocol)!, cancellationToken);
            await PreparedDatasetFiles.WriteAsync(dataset, parsed.GetValue(output)!.FullName);

            if (parsed.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(dataset.Summary));
            else
                SummaryView.Write(dataset.Summary, parsed.GetValue(output)!.FullName);
            return ExitCodes.Success;
        });
        return command;
    }
}
