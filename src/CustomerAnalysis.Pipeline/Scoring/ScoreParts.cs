using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Prediction;
using CustomerAnalysis.Core.Preparation;
using Parquet;
using Parquet.Serialization;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>The model a scoring run used: registry name and version (a checkpoint file scored with <c>ca score</c>
/// has version 0 and its file name as the name, unless named).</summary>
public sealed record ScoringModel(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("checkpoint")] string Checkpoint);

/// <summary>One part of a scoring run: one user shard's scores as Parquet and CSV (the same rows).</summary>
public sealed record ScorePart(
    [property: JsonPropertyName("shard")] int Shard,
    [property: JsonPropertyName("parquet")] string Parquet,
    [property: JsonPropertyName("csv")] string Csv,
    [property: JsonPropertyName("rows")] long Rows);

/// <summary>Who was and was not scored, summed over the parts.</summary>
public sealed record ScoringCounts
{
    /// <summary>Users with at least one kept event in the source.</summary>
    [JsonPropertyName("users")] public long Users { get; init; }
    [JsonPropertyName("scored")] public long Scored { get; init; }
    /// <summary>Churn: users without an engagement event.</summary>
    [JsonPropertyName("no_engagement")] public long NoEngagement { get; init; }
    /// <summary>Churn: users who bounced.</summary>
    [JsonPropertyName("bounced")] public long Bounced { get; init; }
    /// <summary>Churn: users first engaged less than the churn horizon before the end of the data (window open).</summary>
    [JsonPropertyName("window_incomplete")] public long WindowIncomplete { get; init; }

    public ScoringCounts Add(ScoringCounts other) => new()
    {
        Users = Users + other.Users, Scored = Scored + other.Scored, NoEngagement = NoEngagement + other.NoEngagement,
        Bounced = Bounced + other.Bounced, WindowIncomplete = WindowIncomplete + other.WindowIncomplete,
    };
}

/// <summary><c>manifest.json</c> of a scoring run: its parts in shard order, the row counts, the model, the source and
/// when the run was created (every row's <c>scored_at</c>, so a re-run writes the same rows).</summary>
public sealed record ScoringManifest
{
    public const int CurrentFormatVersion = 1;
    public const string FileName = "manifest.json";

    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = CurrentFormatVersion;
    [JsonPropertyName("scoring_run")] public required string ScoringRun { get; init; }
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("model")] public required ScoringModel Model { get; init; }
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("created")] public required DateTimeOffset Created { get; init; }
    /// <summary>The latest event in the source, against which churn windows are complete; null when not known (a
    /// prepared dataset scored as it is).</summary>
    [JsonPropertyName("end_of_data")] public required DateTimeOffset? EndOfData { get; init; }
    [JsonPropertyName("top")] public int? Top { get; init; }
    [JsonPropertyName("rows")] public required long Rows { get; init; }
    [JsonPropertyName("counts")] public required ScoringCounts Counts { get; init; }
    [JsonPropertyName("parts")] public required IReadOnlyList<ScorePart> Parts { get; init; }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Options);

    public static ScoringManifest? Parse(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize<ScoringManifest>(json, Options);
}

/// <summary>
/// The files of a part. Columns (Parquet and CSV alike): <c>user_pseudo_id</c>, <c>model_name</c>,
/// <c>model_version</c>, <c>task</c>, <c>churn_probability</c> and <c>churned</c> (churn; empty for next event),
/// <c>next_event</c> and <c>next_event_probability</c> (the top one; empty for churn), <c>top_events</c> (JSON array of
/// <c>{"event", "probability"}</c>), <c>scored_at</c> (UTC). Rows sorted by <c>user_pseudo_id</c> (ordinal), so a part
/// is byte-for-byte the same when written again.
/// </summary>
public static class ScorePartFiles
{
    public static string ParquetName(int shard) => $"part-{shard:D5}.parquet";
    public static string CsvName(int shard) => $"part-{shard:D5}.csv";

    public static readonly string[] Columns =
    [
        "user_pseudo_id", "model_name", "model_version", "task", "churn_probability", "churned", "next_event",
        "next_event_probability", "top_events", "scored_at",
    ];

    /// <summary>The rows of a part, sorted by user.</summary>
    public static List<ScoreRow> Rows(IEnumerable<UserScore> scores, ScoringModel model, PredictionTask task, DateTimeOffset scoredAt)
    {
        var taskName = PredictionTasks.Name(task);
        var at = scoredAt.UtcDateTime;
        var rows = scores.Select(s => new ScoreRow
        {
            UserPseudoId = s.User,
            ModelName = model.Name,
            ModelVersion = model.Version,
            Task = taskName,
            ChurnProbability = s.ChurnProbability,
            Churned = s.Churned,
            NextEvent = s.TopEvents.Count > 0 ? s.TopEvents[0].Event : null,
            NextEventProbability = s.TopEvents.Count > 0 ? s.TopEvents[0].Probability : null,
            TopEvents = s.TopEvents.Count > 0 ? JsonSerializer.Serialize(s.TopEvents, TopEventsJson) : null,
            ScoredAt = at,
        }).ToList();
        rows.Sort((a, b) => string.CompareOrdinal(a.UserPseudoId, b.UserPseudoId));
        return rows;
    }

    private static readonly JsonSerializerOptions TopEventsJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteParquetAsync(IReadOnlyList<ScoreRow> rows, Stream destination, CancellationToken cancellationToken = default) =>
        await ParquetSerializer.SerializeAsync(rows, destination,
            new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }, cancellationToken: cancellationToken);

    /// <summary>RFC 4180 CSV with a header line; numbers in invariant culture, round-trip precision.</summary>
    public static async Task WriteCsvAsync(IReadOnlyList<ScoreRow> rows, Stream destination, CancellationToken cancellationToken = default)
    {
        await using var writer = new StreamWriter(destination, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        await writer.WriteLineAsync(string.Join(',', Columns));
        var line = new StringBuilder(256);
        foreach (var row in rows)
        {
            line.Clear();
            Field(line, row.UserPseudoId).Append(',');
            Field(line, row.ModelName).Append(',');
            line.Append(row.ModelVersion.ToString(CultureInfo.InvariantCulture)).Append(',');
            Field(line, row.Task).Append(',');
            line.Append(row.ChurnProbability?.ToString("R", CultureInfo.InvariantCulture)).Append(',');
            line.Append(row.Churned switch { true => "true", false => "false", null => "" }).Append(',');
            Field(line, row.NextEvent).Append(',');
            line.Append(row.NextEventProbability?.ToString("R", CultureInfo.InvariantCulture)).Append(',');
            Field(line, row.TopEvents).Append(',');
            line.Append(row.ScoredAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
            await writer.WriteLineAsync(line, cancellationToken);
        }
    }

    private static StringBuilder Field(StringBuilder line, string? value)
    {
        if (value is null) return line;
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0) return line.Append(value);
        return line.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}

/// <summary>A row of a score part (the Parquet columns are these properties' JSON names).</summary>
public sealed class ScoreRow
{
    [JsonPropertyName("user_pseudo_id")] public string UserPseudoId { get; set; } = "";
    [JsonPropertyName("model_name")] public string ModelName { get; set; } = "";
    [JsonPropertyName("model_version")] public int ModelVersion { get; set; }
    [JsonPropertyName("task")] public string Task { get; set; } = "";
    [JsonPropertyName("churn_probability")] public double? ChurnProbability { get; set; }
    [JsonPropertyName("churned")] public bool? Churned { get; set; }
    [JsonPropertyName("next_event")] public string? NextEvent { get; set; }
    [JsonPropertyName("next_event_probability")] public double? NextEventProbability { get; set; }
    [JsonPropertyName("top_events")] public string? TopEvents { get; set; }
    [JsonPropertyName("scored_at")] public DateTime ScoredAt { get; set; }
}
