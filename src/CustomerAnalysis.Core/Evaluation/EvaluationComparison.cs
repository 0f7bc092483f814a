using System.Globalization;
using System.Text;

namespace CustomerAnalysis.Core.Evaluation;

/// <summary>Model and baselines side by side: one row per report, one column per metric, as plain text.</summary>
public static class EvaluationComparison
{
    /// <param name="reports">Name → report, e.g. <c>{"model": ..., ..BaselineSuite.Evaluate(...)}</c>, all of one task.</param>
    /// <returns>A fixed-width table; 4 decimals; <c>n/a</c> for undefined (NaN) metrics.</returns>
    public static string ToText(IReadOnlyDictionary<string, IEvaluationReport> reports)
    {
        if (reports.Count == 0)
            throw new ArgumentException("No reports to compare.", nameof(reports));
        var metrics = reports.Values.First().Scalars.Keys.ToArray();
        if (reports.Values.Any(r => !r.Scalars.Keys.SequenceEqual(metrics)))
            throw new ArgumentException("The reports hold different metrics: compare reports of one task only.", nameof(reports));

        string[][] rows =
        [
            ["", .. metrics],
            .. reports.Select(r => (string[])[r.Key, .. metrics.Select(m => Format(r.Value.Scalars[m]))]),
        ];
        var widths = Enumerable.Range(0, metrics.Length + 1).Select(c => rows.Max(row => row[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
            text.AppendJoin("  ", row.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c])))
                .Append('\n');
        return text.ToString();
    }

    private static string Format(double value) =>
        double.IsNaN(value) ? "n/a" : value.ToString("0.0000", CultureInfo.InvariantCulture);
}
