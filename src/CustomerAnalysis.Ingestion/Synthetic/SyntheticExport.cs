using System.Globalization;

namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>What <see cref="SyntheticExport.WriteAsync"/> wrote.</summary>
public sealed record SyntheticExportResult(long Events, long Users, long Sessions, IReadOnlyList<string> Files);

/// <summary>
/// Writes a GA4-shaped export (daily <c>events_YYYYMMDD</c> tables, the nested BigQuery schema, Parquet and/or
/// NDJSON) whose statistics follow <see cref="Ga4Profile"/>. Seeded and deterministic: the same options give
/// byte-identical files. Streaming: days are written one after another, sessions as they start; memory holds the
/// sessions planned but not yet started and one Parquet row group, not the export.
/// </summary>
public static class SyntheticExport
{
    private const long MicrosPerDay = 86_400_000_000;

    public static Task<SyntheticExportResult> WriteAsync(SyntheticExportOptions options, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default) =>
        WriteAsync(options, Ga4Profile.Default, progress, cancellationToken);

    /// <param name="progress">Receives the number of events written so far, after each day and every 100,000 events.</param>
    public static async Task<SyntheticExportResult> WriteAsync(SyntheticExportOptions options, Ga4Profile profile,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        Directory.CreateDirectory(options.OutputFolder);
        var model = new SyntheticModel(profile);
        var windowStart = new DateTimeOffset(options.StartDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000;
        var planner = new UserPlanner(model, options.Seed, windowStart, options.Days);
        var builder = new SessionBuilder(model, options.Seed);
        var users = planner.UsersFor(options.Events);

        // Sessions planned but not started yet, earliest first; ties broken by user and visit for determinism.
        var pending = new PriorityQueue<SessionPlan, (long Start, int User, int Visit)>();
        var userSessions = new List<SessionPlan>();
        var sessionEvents = new List<SyntheticEvent>();
        var nextDay = new List<SyntheticEvent>(); // events of sessions that cross midnight
        var files = new List<string>();
        long written = 0, sessions = 0;

        for (var day = 0; day < options.Days; day++)
        {
            var dayEnd = windowStart + (day + 1) * MicrosPerDay;
            for (var user = day; user < users; user += options.Days)
            {
                planner.Plan(user, userSessions);
                foreach (var s in userSessions) pending.Enqueue(s, (s.StartTimestamp, s.User, s.Visit));
            }

            var date = options.StartDate.AddDays(day).ToString("yyyyMMdd", CultureInfo.InvariantCulture);
            var writers = OpenWriters(options, date, files);
            try
            {
                var carried = nextDay.ToArray();
                nextDay.Clear();
                foreach (var e in carried) await WriteOrCarry(e).ConfigureAwait(false);
                while (pending.TryPeek(out var session, out _) && session.StartTimestamp < dayEnd)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    pending.Dequeue();
                    sessions++;
                    builder.Build(session, sessionEvents);
                    foreach (var e in sessionEvents) await WriteOrCarry(e).ConfigureAwait(false);
                }
            }
            finally
            {
                foreach (var writer in writers) await writer.DisposeAsync().ConfigureAwait(false);
            }
            progress?.Report(written);

            async ValueTask WriteOrCarry(SyntheticEvent e)
            {
                if (e.Timestamp >= dayEnd)
                {
                    // The export ends at the last midnight, as a BigQuery export of N daily tables does.
                    if (day + 1 < options.Days) nextDay.Add(e);
                    return;
                }
                foreach (var writer in writers) await writer.WriteAsync(e, cancellationToken).ConfigureAwait(false);
                if (++written % 100_000 == 0) progress?.Report(written);
            }
        }
        return new SyntheticExportResult(written, users, sessions, files);
    }

    private static List<IDayWriter> OpenWriters(SyntheticExportOptions options, string date, List<string> files)
    {
        var writers = new List<IDayWriter>(2);
        if (options.Format is SyntheticFormat.Parquet or SyntheticFormat.Both)
        {
            var path = Path.Combine(options.OutputFolder, $"events_{date}.parquet");
            writers.Add(new ParquetDayWriter(path, date, options.RowGroupRows));
            files.Add(path);
        }
        if (options.Format is SyntheticFormat.Ndjson or SyntheticFormat.Both)
        {
            var path = Path.Combine(options.OutputFolder, $"events_{date}.json");
            writers.Add(new NdjsonDayWriter(path, date));
            files.Add(path);
        }
        return writers;
    }
}
