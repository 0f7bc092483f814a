using CustomerAnalysis.Core.Preparation;
using Spectre.Console;

namespace CustomerAnalysis.Cli;

/// <summary>The human-readable form of a <see cref="PrepareSummary"/>.</summary>
public static class SummaryView
{
    public static void Write(PrepareSummary summary, string folder)
    {
        var table = new Table().AddColumn("").AddColumn(new TableColumn("").RightAligned()).HideHeaders();
        table.AddRow("task / protocol", $"{summary.Task} / {summary.Protocol}");
        table.AddRow("rows read", $"{summary.RowsRead:N0}");
        table.AddRow("rows rejected", $"{summary.RowsRejected:N0}");
        table.AddRow("users", $"{summary.Users:N0}");
        table.AddRow("sessions", $"{summary.Sessions:N0}");
        table.AddRow("sequences", $"{summary.Sequences:N0}");
        table.AddRow("train / val / test", $"{summary.Splits.Train:N0} / {summary.Splits.Validation:N0} / {summary.Splits.Test:N0}");
        if (summary.ValidationRecentFrom is { } from)
            table.AddRow("val_recent (from)", $"{summary.Splits.ValidationRecent:N0} ({DateTimeOffset.FromUnixTimeSeconds(from):yyyy-MM-dd HH:mm} UTC)");
        if (summary.Labels is ChurnLabelCounts churn)
            table.AddRow("churned / returned / bounced / censored",
                $"{churn.Churned:N0} / {churn.Returned:N0} / {churn.Bounced:N0} / {churn.Censored:N0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Prepared dataset written to [bold]{Markup.Escape(folder)}[/]");
    }
}
