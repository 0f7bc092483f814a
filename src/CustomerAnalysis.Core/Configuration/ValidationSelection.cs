namespace CustomerAnalysis.Core.Configuration;

/// <summary>
/// Which validation split ranks epochs (early stopping), asha rungs and trials (<c>pipeline_params.validation_selection</c>):
/// the held-out users' split (<c>val</c>), the last days' split (<c>val_recent</c>, the prepare option
/// <c>holdout_days</c>) or the mean of the two scores. Settings chosen on users alone did not carry over to later days
/// (issue 10), so the default weighs both.
/// </summary>
public enum ValidationSelection
{
    /// <summary>The held-out users' validation split only (before <c>holdout_days</c> existed).</summary>
    Users,
    /// <summary>The last days' split only (the users' split when the dataset has none).</summary>
    Recent,
    /// <summary>The mean of both scores (the users' score alone when the dataset has no recent split); the default.</summary>
    Mean,
}

public static class ValidationSelections
{
    public static readonly string[] Names = ["users", "recent", "mean"];

    public static ValidationSelection Parse(string name) => name switch
    {
        "users" => ValidationSelection.Users,
        "recent" => ValidationSelection.Recent,
        _ => ValidationSelection.Mean,
    };

    public static string Name(ValidationSelection selection) => Names[(int)selection];

    /// <summary>The score a trial is ranked on, from its metric on the users' split and on the recent split (NaN when
    /// the dataset has none or the metric is undefined there: then the users' score stands). Same direction as the
    /// metric.</summary>
    public static double Score(this ValidationSelection selection, double users, double recent) =>
        double.IsNaN(recent) ? users : selection switch
        {
            ValidationSelection.Users => users,
            ValidationSelection.Recent => recent,
            _ => (users + recent) / 2,
        };

    /// <summary>Whether the recent split's score is needed at every epoch (not only for the report).</summary>
    public static bool UsesRecent(this ValidationSelection selection) => selection != ValidationSelection.Users;
}
