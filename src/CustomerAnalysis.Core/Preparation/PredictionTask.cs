namespace CustomerAnalysis.Core.Preparation;

/// <summary>What a dataset (and a model trained on it) predicts.</summary>
public enum PredictionTask
{
    /// <summary>The last event of a session from the events before it (one sequence per session).</summary>
    Events,
    /// <summary>Whether a user churns (one sequence per labelled user).</summary>
    Churn,
}
