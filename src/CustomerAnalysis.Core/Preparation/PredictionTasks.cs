namespace CustomerAnalysis.Core.Preparation;

/// <summary>The one mapping between <see cref="PredictionTask"/> and its name in configs, files, APIs and the CLI:
/// <c>events</c> and <c>churn</c>.</summary>
public static class PredictionTasks
{
    public const string EventsName = "events";
    public const string ChurnName = "churn";

    public static string Name(PredictionTask task) => task switch
    {
        PredictionTask.Events => EventsName,
        PredictionTask.Churn => ChurnName,
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown prediction task."),
    };

    /// <summary>Accepts exactly <c>events</c> or <c>churn</c>, in any case (unlike <c>Enum.TryParse</c>, which also
    /// takes numbers such as "0").</summary>
    public static bool TryParse(string? text, out PredictionTask task)
    {
        if (string.Equals(text, EventsName, StringComparison.OrdinalIgnoreCase)) { task = PredictionTask.Events; return true; }
        if (string.Equals(text, ChurnName, StringComparison.OrdinalIgnoreCase)) { task = PredictionTask.Churn; return true; }
        task = default;
        return false;
    }
}
