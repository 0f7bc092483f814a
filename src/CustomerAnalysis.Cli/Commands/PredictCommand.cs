using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Prediction;

namespace CustomerAnalysis.Cli.Commands;

/// <summary><c>ca predict</c>: one session's events → the top next events, or the churn probability, with attention.</summary>
public static class PredictCommand
{
    public const int MaxTop = 10_000;

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "A checkpoint written by ca train (model.ckpt).", Required = true }.ExistingFile();
        var events = new Option<string>("--events") { Description = "Event names in order, comma-separated: \"session_start,page_view,...\".", Required = true };
        var gaps = new Option<string?>("--gaps") { Description = "Seconds since the previous event, one per event (models trained with time gaps)." };
        // More than the vocabulary lists the whole vocabulary; the bound only keeps the number sane.
        var top = SharedOptions.Number("--top", "How many next events to list.", 3, 1, MaxTop);
        var json = SharedOptions.Json();

        var command = new Command("predict", "Predict the next event (or churn) for one sequence of events.") { model, events, gaps, top, json };
        command.SetAction(parsed =>
        {
            var names = SplitList(parsed.GetValue(events)!);
            if (names.Length == 0) throw new InvalidInputException("--events lists no event names.");
            var gapSeconds = parsed.GetValue(gaps) is { } gapText ? ParseGaps(gapText) : null;

            using var predictor = Load(parsed.GetValue(model)!);
            var prediction = predictor.Predict([new SessionInput(names, gapSeconds)], parsed.GetValue(top))[0];
            var output = ToJson(predictor.Checkpoint.Task, names, prediction, predictor.Checkpoint.Config.Pipeline.ProbThreshold);
            if (parsed.GetValue(json))
                Console.WriteLine(output.ToJsonString());
            else
                WriteText(predictor.Checkpoint.Task, names, prediction);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Predictor Load(FileInfo file)
    {
        Stream stream;
        try { stream = file.OpenRead(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read the model {file.FullName}: {e.Message}", e);
        }
        using (stream)
        {
            try { return Predictor.Load(stream); }
            catch (InvalidInputException e)
            {
                // The checkpoint reader sees a stream: the message gets the file it came from here.
                throw new InvalidInputException($"{file.FullName} is not a readable model checkpoint: {e.Message}", e);
            }
        }
    }

    private static string[] SplitList(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static double[] ParseGaps(string text) => SplitList(text).Select(g =>
        double.TryParse(g, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) && seconds >= 0
            ? seconds
            : throw new InvalidInputException($"--gaps: '{g}' is not a number of seconds ≥ 0.")).ToArray();

    /// <summary><c>{"task", "top_events": [{"event", "probability"}]}</c> or <c>{"task", "churn_probability", "churned",
    /// "threshold"}</c>, plus <c>"attention": [{"event", "weight"}]</c> aligned with the input.</summary>
    public static JsonObject ToJson(PredictionTask task, IReadOnlyList<string> events, SessionPrediction prediction, double threshold)
    {
        var result = new JsonObject { ["task"] = PredictionTasks.Name(task) };
        if (task == PredictionTask.Events)
            result["top_events"] = new JsonArray(prediction.TopEvents
                .Select(e => (JsonNode)new JsonObject { ["event"] = e.Event, ["probability"] = e.Probability }).ToArray());
        else
        {
            result["churn_probability"] = prediction.ChurnProbability;
            result["churned"] = prediction.Churns;
            result["threshold"] = threshold;
        }
        result["attention"] = new JsonArray(events
            .Select((name, i) => (JsonNode)new JsonObject { ["event"] = name, ["weight"] = prediction.Attention[i] }).ToArray());
        return result;
    }

    private static void WriteText(PredictionTask task, IReadOnlyList<string> events, SessionPrediction prediction)
    {
        if (task == PredictionTask.Events)
        {
            Console.WriteLine("Next event:");
            foreach (var (candidate, rank) in prediction.TopEvents.Select((e, i) => (e, i + 1)))
                Console.WriteLine($"  {rank}. {candidate.Event}  {candidate.Probability:0.0000}");
        }
        else
        {
            var probability = prediction.ChurnProbability is { } p ? $" (probability {p:0.0000})" : "";
            Console.WriteLine($"Churn: {(prediction.Churns == true ? "churned" : "returned")}{probability}");
        }
        Console.WriteLine("Attention: " + string.Join(", ", events.Select((name, i) => $"{name} {prediction.Attention[i]:0.000}")));
    }
}
