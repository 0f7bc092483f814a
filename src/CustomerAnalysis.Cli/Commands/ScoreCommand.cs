using System.CommandLine;
using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Ingestion;
using CustomerAnalysis.Pipeline.Scoring;
using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Serving.Scoring;

namespace CustomerAnalysis.Cli.Commands;

/// <summary><c>ca score</c>: every scorable user of an export (churn: engaged, not bounced, first-engagement window
/// complete; next event: each user's latest session) scored in batches by a checkpoint or a registered model, into
/// Parquet and CSV parts with a manifest (the layout of a pipeline scoring run's <c>scores/{run}/</c>).</summary>
public static class ScoreCommand
{
    public const int MaxTop = 100;

    public static Command Create()
    {
        var input = SharedOptions.Input();
        var model = new Option<string>("--model")
        {
            Description = "A checkpoint file (ca train's model.ckpt), or a registry model name (its production version " +
                          "unless --version; the registry is the pipeline config's storage).",
            Required = true,
        };
        var version = SharedOptions.Number("--version", "Registry version to score with (default: production).", 0, 0, int.MaxValue);
        var output = SharedOptions.OutputFolder("Folder for part-NNNNN.parquet/.csv and manifest.json.");
        var task = new Option<PredictionTask?>("--task")
        {
            Description = "events or churn: checked against the model's task (default: the model's).",
            HelpName = "events|churn",
            CustomParser = result =>
            {
                if (PredictionTasks.TryParse(result.Tokens[0].Value, out var parsed)) return parsed;
                result.AddError($"--task must be events or churn, not '{result.Tokens[0].Value}'.");
                return null;
            },
        };
        var top = SharedOptions.Number("--top", "Next event: events listed per user.", 3, 1, MaxTop);
        var shards = SharedOptions.Number("--shards", "Read and score shard by shard (users by hash of user_pseudo_id).", 1, 1,
            Core.Events.UserShard.MaxCount);
        var runId = new Option<string?>("--run-id")
        {
            Description = "The scoring run's id; the same id into the same folder writes the same files again.",
        };
        var dataConfig = new Option<FileInfo?>("--data-config")
        {
            Description = "Data settings (JSON, like config/prepare.json): churn horizon, bounce, engagement, length.",
        }.ExistingFile();
        var pipelineConfig = ServeCommand.PipelineConfigOption();
        var settings = ServeCommand.SettingsOption();
        var json = SharedOptions.Json();

        var command = new Command("score", "Score every user of an export in batches: churn probability or top next events.")
        {
            input, model, version, output, task, top, shards, runId, dataConfig, pipelineConfig, settings, json,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var id = parsed.GetValue(runId) is { } given ? ScoringRunIds.Validate(given, "--run-id") : null;
            var options = parsed.GetValue(dataConfig) is { } file ? PrepareOptionsFile.Load(file.FullName) : PrepareOptions.Default;
            var folder = parsed.GetValue(output)!.FullName;
            var inputPath = parsed.GetValue(input)!;
            // A prepared churn dataset (ca prepare's folder) is scored as it is; anything else is an export to read.
            var prepared = Directory.Exists(inputPath) && File.Exists(Path.Combine(inputPath, PreparedDatasetFiles.TrainFileName))
                ? await PreparedDatasetFiles.ReadAsync(inputPath, cancellationToken)
                : null;
            if (prepared != null && parsed.GetValue(shards) != 1)
                throw new InvalidInputException("--shards is for exports; a prepared dataset is scored as one part.");
            var candidates = prepared is null ? null : PreparedDatasetScoring.ToScoringShard(prepared);
            var source = prepared is null ? EventSources.Open(inputPath, EventSourceOptions.FromEnvironment()) : null;
            var description = source?.Description ?? Path.GetFullPath(inputPath);
            using var resolved = await ResolveModelAsync(parsed.GetValue(model)!, parsed.GetValue(version),
                parsed.GetValue(pipelineConfig)!, parsed.GetValue(settings), cancellationToken);

            using var scorer = new TorchBatchScorer();
            var modelTask = await scorer.TaskOfAsync(resolved.CheckpointPath, cancellationToken);
            if (parsed.GetValue(task) is { } wanted && wanted != modelTask)
                throw new InvalidInputException(
                    $"--task {PredictionTasks.Name(wanted)} does not match the model, a {PredictionTasks.Name(modelTask)} model.");
            // A signals model (use_signals) scores the signals it was trained with: the export is read with them.
            var signals = await scorer.SignalsOfAsync(resolved.CheckpointPath, cancellationToken);
            if (!signals.IsEmpty)
            {
                if (candidates is not null)
                    throw new InvalidInputException(
                        $"This model was trained with GA4 signals ({signals}; use_signals) and a prepared dataset keeps its signals " +
                        "encoded with its own vocabularies, not as read: score the export itself (--input <source>).");
                options = options with { Signals = signals };
                if (source is not null)
                    source = EventSources.Open(inputPath, EventSourceOptions.FromEnvironment() with { Signals = signals });
            }

            // The same run id into the same folder keeps its creation time (every row's scored_at): the same files.
            var previous = ReadManifest(folder);
            id ??= previous?.ScoringRun ?? ScoringRunIds.New(DateTimeOffset.UtcNow);
            var created = previous is { } p && p.ScoringRun == id ? p.Created : DateTimeOffset.UtcNow;
            var request = new FolderScoring.Request(source, description, modelTask, options, parsed.GetValue(shards),
                resolved.CheckpointPath, resolved.Model, parsed.GetValue(top), id, created, folder);
            var manifest = await CommandLine.WithProgressAsync($"Scoring {description}", report => candidates is null
                ? FolderScoring.RunAsync(scorer, request, report, cancellationToken)
                : FolderScoring.WriteAsync(scorer, request, [candidates], report, cancellationToken));

            if (parsed.GetValue(json))
                Console.WriteLine(System.Text.Encoding.UTF8.GetString(manifest.ToJsonBytes()).ReplaceLineEndings(" "));
            else
            {
                var counts = manifest.Counts;
                Console.WriteLine($"Scored {manifest.Rows:N0} of {counts.Users:N0} users with {manifest.Model.Name} v{manifest.Model.Version} " +
                                  $"({manifest.Task}) into {folder}: {manifest.Parts.Count} part(s), run {manifest.ScoringRun}.");
                if (manifest.Task == PredictionTasks.ChurnName)
                    Console.WriteLine($"Not scored: {counts.WindowIncomplete:N0} first engaged less than the churn horizon before " +
                                      $"the end of the data, {counts.Bounced:N0} bounced, {counts.NoEngagement:N0} without engagement.");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static ScoringManifest? ReadManifest(string folder)
    {
        var path = Path.Combine(folder, ScoringManifest.FileName);
        if (!File.Exists(path)) return null;
        try { return ScoringManifest.Parse(File.ReadAllBytes(path)); }
        catch (JsonException) { return null; } // a damaged manifest is rewritten by this run
    }

    private sealed class ResolvedModel(string checkpointPath, ScoringModel model, string? temporary) : IDisposable
    {
        public string CheckpointPath { get; } = checkpointPath;
        public ScoringModel Model { get; } = model;

        public void Dispose()
        {
            if (temporary != null && File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>An existing file is the checkpoint (named by its file name, version 0); otherwise a registry name,
    /// whose production (or given) version's checkpoint is downloaded from the pipeline's storage.</summary>
    private static async Task<ResolvedModel> ResolveModelAsync(string model, int version, FileInfo configFile,
        IReadOnlyList<string>? settings, CancellationToken cancellationToken)
    {
        if (File.Exists(model))
        {
            if (version != 0) throw new InvalidInputException("--version is for registry models; --model names a checkpoint file.");
            return new ResolvedModel(Path.GetFullPath(model),
                new ScoringModel(Path.GetFileNameWithoutExtension(model), 0, Path.GetFileName(model)), null);
        }
        if (Directory.Exists(model))
            throw new InvalidInputException($"--model {model} is a folder: give a checkpoint file or a registry model name.");
        if (!ModelNames.IsValid(model))
            throw new InvalidInputException($"--model: {model} is neither a checkpoint file nor a registry model name.");
        var pipeline = LocalHosting.LoadConfig(configFile, storage: null, settings);
        var storage = new PipelineStorage(pipeline.Storage.ToOptions());
        var registry = new ModelRegistry(storage);
        ModelVersionRecord? record;
        try
        {
            record = version == 0
                ? await registry.GetProductionAsync(model, cancellationToken)
                : await registry.GetVersionAsync(model, version, cancellationToken);
        }
        catch (Exception e) when (Pipeline.Storage.StorageOutage.Is(e))
        {
            throw new InvalidOperationException($"The model registry's storage did not answer ({e.Message}).", e);
        }
        if (record is null)
            throw new InvalidInputException(version == 0
                ? $"--model: the registry has no production version of '{model}'."
                : $"--model: the registry has no version {version} of '{model}'.");
        var temporary = Path.Combine(Path.GetTempPath(), $"ca-score-{Guid.NewGuid():N}.ckpt");
        await new ArtifactStore(storage).DownloadToFileAsync(record.CheckpointBlob, temporary, cancellationToken);
        return new ResolvedModel(temporary, new ScoringModel(record.Name, record.Version, record.CheckpointBlob), temporary);
    }
}
