namespace CustomerAnalysis.Core.Evaluation;

/// <summary>
/// Platt scaling of churn probabilities: calibrated = σ(<see cref="Slope"/> · logit(p) + <see cref="Intercept"/>).
/// Fitted on the validation split (never on test) so that among users given probability ≈ q about a share q churn.
/// It is monotone (slope &gt; 0 in practice), so ROC-AUC and PR-AUC do not change; log loss, Brier, the expected
/// calibration error and what the 0.5 threshold predicts do.
/// </summary>
public sealed record PlattScaling(double Slope, double Intercept) : ProbabilityCalibration
{
    /// <summary>Leaves probabilities as they are (old checkpoints, or nothing to fit on).</summary>
    public static PlattScaling Identity { get; } = new(1, 0);

    public override CalibrationMethod Method => CalibrationMethod.Platt;

    public override bool IsIdentity => Slope == 1 && Intercept == 0;

    public override double Apply(double probability) => Sigmoid(Slope * Logit(probability) + Intercept);

    protected override void WriteParameters(System.Text.Json.Nodes.JsonObject json)
    {
        json["slope"] = Slope;
        json["intercept"] = Intercept;
    }

    /// <summary>
    /// Minimizes the log loss of the calibrated probabilities against Platt's smoothed targets
    /// ((N₊ + 1) / (N₊ + 2) for churned, 1 / (N₋ + 2) for returned), which keeps a small or separable validation split
    /// from pushing the slope to infinity. Newton's method with step halving: deterministic. Returns
    /// <see cref="Identity"/> when the labels hold one class only (there is nothing to calibrate against).
    /// </summary>
    public static PlattScaling Fit(IReadOnlyList<int> labels, IReadOnlyList<double> probabilities)
    {
        if (labels.Count != probabilities.Count)
            throw new ArgumentException($"{probabilities.Count} probabilities for {labels.Count} labels.", nameof(probabilities));
        var positives = labels.Count(l => l == 1);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0) return Identity;

        var inputs = probabilities.Select(Logit).ToArray();
        double high = (positives + 1.0) / (positives + 2.0), low = 1.0 / (negatives + 2.0);
        var targets = labels.Select(l => l == 1 ? high : low).ToArray();
        double slope = 1, intercept = 0;
        var loss = Loss(inputs, targets, slope, intercept);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double gA = 0, gB = 0, hAA = 0, hAB = 0, hBB = 0;
            for (var i = 0; i < inputs.Length; i++)
            {
                var p = Sigmoid(slope * inputs[i] + intercept);
                var residual = p - targets[i];
                var curvature = Math.Max(p * (1 - p), 1e-12);
                gA += residual * inputs[i];
                gB += residual;
                hAA += curvature * inputs[i] * inputs[i];
                hAB += curvature * inputs[i];
                hBB += curvature;
            }
            // A tiny ridge keeps the 2×2 solve defined when every input logit is the same.
            hAA += 1e-9;
            hBB += 1e-9;
            var determinant = hAA * hBB - hAB * hAB;
            var stepA = (hBB * gA - hAB * gB) / determinant;
            var stepB = (hAA * gB - hAB * gA) / determinant;
            var size = 1.0;
            double candidateA, candidateB, candidateLoss;
            do
            {
                candidateA = slope - size * stepA;
                candidateB = intercept - size * stepB;
                candidateLoss = Loss(inputs, targets, candidateA, candidateB);
                size /= 2;
            } while (candidateLoss > loss && size > 1e-10);
            if (candidateLoss > loss) break;
            var change = Math.Max(Math.Abs(candidateA - slope), Math.Abs(candidateB - intercept));
            (slope, intercept, loss) = (candidateA, candidateB, candidateLoss);
            if (change < 1e-10) break;
        }
        return new PlattScaling(slope, intercept);
    }

    private static double Loss(double[] inputs, double[] targets, double slope, double intercept)
    {
        double total = 0;
        for (var i = 0; i < inputs.Length; i++)
        {
            var score = slope * inputs[i] + intercept;
            // Cross-entropy with a soft target: softplus(score) − target · score.
            total += (score > 0 ? score + Math.Log(1 + Math.Exp(-score)) : Math.Log(1 + Math.Exp(score))) - targets[i] * score;
        }
        return total;
    }
}
