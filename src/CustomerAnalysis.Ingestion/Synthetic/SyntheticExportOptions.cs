using CustomerAnalysis.Core;

namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>Which files <see cref="SyntheticExport"/> writes for each day.</summary>
public enum SyntheticFormat
{
    /// <summary><c>events_YYYYMMDD.parquet</c>, the schema of a BigQuery Parquet extract.</summary>
    Parquet,
    /// <summary><c>events_YYYYMMDD.json</c>, newline-delimited JSON as <c>bq extract</c> writes it.</summary>
    Ndjson,
    Both,
}

/// <summary>What to generate. The same options (seed included) always give byte-identical files.</summary>
public sealed record SyntheticExportOptions
{
    public required string OutputFolder { get; init; }
    /// <summary>Target number of events; the export holds this many within a fraction of a percent.</summary>
    public long Events { get; init; } = 1_000_000;
    /// <summary>Number of daily tables.</summary>
    public int Days { get; init; } = 9;
    /// <summary>The first day's UTC date.</summary>
    public DateOnly StartDate { get; init; } = new(2021, 1, 21);
    public int Seed { get; init; } = 42;
    public SyntheticFormat Format { get; init; } = SyntheticFormat.Parquet;
    /// <summary>Rows per Parquet row group: bounds the writer's memory.</summary>
    public int RowGroupRows { get; init; } = 100_000;

    /// <summary>The most daily tables one export may have (ten years).</summary>
    public const int MaxDays = 3660;

    /// <summary>Throws <see cref="InvalidInputException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputFolder)) throw new InvalidInputException("The output folder is empty.");
        if (Events < 1) throw new InvalidInputException($"Events must be at least 1, got {Events}.");
        if (Days is < 1 or > MaxDays) throw new InvalidInputException($"Days must be between 1 and {MaxDays}, got {Days}.");
        if (StartDate.Year < 1970 || StartDate.DayNumber > DateOnly.MaxValue.DayNumber - Days)
            throw new InvalidInputException($"The start date {StartDate:yyyy-MM-dd} must be in 1970 or later, with {Days} days after it.");
        if (RowGroupRows < 1) throw new InvalidInputException($"RowGroupRows must be at least 1, got {RowGroupRows}.");
        if (!Enum.IsDefined(Format)) throw new InvalidInputException($"Unknown format {Format}.");
    }
}
