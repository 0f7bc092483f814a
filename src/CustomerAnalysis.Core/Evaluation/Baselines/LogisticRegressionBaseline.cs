using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Evaluation.Baselines;

/// <summary>
/// Churn from a bag of events: L2-regularized logistic regression on how often each event occurs in the input
/// window, plus the window's length.
/// <list type="bullet">
/// <item>Features: count of each token 1..V−1 (&lt;PAD&gt; is never an input) and the sequence length, each
/// standardized with the training split's mean and standard deviation; a feature constant in training is ignored.
/// The length equals the sum of the counts; the L2 penalty keeps the solution unique despite that.</item>
/// <item>Objective: Σ log-loss + (λ / 2) · ‖w‖², intercept not penalized (scikit-learn's C = 1 / λ).</item>
/// <item>Solved by Newton's method (IRLS) with step halving: no learning rate, no randomness, the same weights
/// on every run. Each step costs O(n · d²) for d = V + 1 features, fine for event vocabularies (tens to hundreds).</item>
/// </list>
/// </summary>
public sealed class LogisticRegressionBaseline : IChurnBaseline
{
    public const string BaselineName = "logistic_regression";

    private readonly int _vocabularySize;
    private readonly double[] _means;
    private readonly double[] _scales;
    /// <summary>[0] = intercept, [1..] = one weight per standardized feature.</summary>
    private readonly double[] _weights;

    private LogisticRegressionBaseline(int vocabularySize, double[] means, double[] scales, double[] weights, int iterations)
    {
        _vocabularySize = vocabularySize;
        _means = means;
        _scales = scales;
        _weights = weights;
        Iterations = iterations;
    }

    public string Name => BaselineName;

    /// <summary>Newton steps taken until convergence.</summary>
    public int Iterations { get; }

    public double Intercept => _weights[0];

    /// <summary>Weights of the standardized features: tokens 1..V−1, then the sequence length.</summary>
    public IReadOnlyList<double> FeatureWeights => _weights[1..];

    public static LogisticRegressionBaseline Fit(
        IReadOnlyList<SequenceExample> train, int vocabularySize, double l2Penalty = 1.0, int maxIterations = 100)
    {
        BaselineChecks.RequireTraining(train, smoothing: 0);
        if (!(l2Penalty > 0) || double.IsInfinity(l2Penalty))
            throw new ArgumentOutOfRangeException(nameof(l2Penalty), l2Penalty, "The L2 penalty must be a finite number > 0.");
        foreach (var example in train)
        {
            if (example.Label is not (0 or 1))
                throw new InvalidInputException($"Example '{example.Id}' has churn label {example.Label}; churn labels are 0 or 1.");
            foreach (var token in example.Tokens) ClassCounts.CheckId(token, vocabularySize, example, "token");
        }
        if (train.All(e => e.Label == train[0].Label))
            throw new InvalidInputException(
                "The logistic regression baseline needs both churned and returned users in the training split; " +
                $"all {train.Count} have label {train[0].Label}.");

        var raw = train.Select(e => RawFeatures(e, vocabularySize)).ToArray();
        var (means, scales) = Standardization(raw);
        var inputs = raw.Select(features => Standardize(features, means, scales)).ToArray();
        var labels = train.Select(e => (double)e.Label).ToArray();
        var (weights, iterations) = Newton(inputs, labels, l2Penalty, maxIterations);
        return new LogisticRegressionBaseline(vocabularySize, means, scales, weights, iterations);
    }

    public double[] PredictChurnProbabilities(IReadOnlyList<SequenceExample> examples)
    {
        var probabilities = new double[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            // Tokens outside the training vocabulary (only possible with a mismatched dataset) count as <UNK>.
            var features = Standardize(RawFeatures(examples[i], _vocabularySize), _means, _scales);
            probabilities[i] = Sigmoid(Score(_weights, features));
        }
        return probabilities;
    }

    /// <summary>Counts of tokens 1..V−1, then the length: V values.</summary>
    private static double[] RawFeatures(SequenceExample example, int vocabularySize)
    {
        var features = new double[vocabularySize];
        foreach (var token in example.Tokens)
        {
            var id = (uint)token < (uint)vocabularySize && token != Vocabulary.Pad ? token : Vocabulary.Unk;
            features[id - 1]++;
        }
        features[^1] = example.Tokens.Length;
        return features;
    }

    private static (double[] Means, double[] Scales) Standardization(double[][] raw)
    {
        var featureCount = raw[0].Length;
        var means = new double[featureCount];
        var scales = new double[featureCount];
        for (var j = 0; j < featureCount; j++)
        {
            var mean = raw.Average(features => features[j]);
            var variance = raw.Average(features => (features[j] - mean) * (features[j] - mean));
            means[j] = mean;
            // 1 / standard deviation; 0 drops a feature that never varies in training.
            scales[j] = variance > 0 ? 1 / Math.Sqrt(variance) : 0;
        }
        return (means, scales);
    }

    private static double[] Standardize(double[] raw, double[] means, double[] scales)
    {
        var standardized = new double[raw.Length];
        for (var j = 0; j < raw.Length; j++) standardized[j] = (raw[j] - means[j]) * scales[j];
        return standardized;
    }

    private static double Score(double[] weights, double[] features)
    {
        var score = weights[0];
        for (var j = 0; j < features.Length; j++) score += weights[j + 1] * features[j];
        return score;
    }

    private static double Sigmoid(double score) =>
        score >= 0 ? 1 / (1 + Math.Exp(-score)) : Math.Exp(score) / (1 + Math.Exp(score));

    /// <summary>log(1 + e^score) without overflow.</summary>
    private static double Softplus(double score) =>
        score > 0 ? score + Math.Log(1 + Math.Exp(-score)) : Math.Log(1 + Math.Exp(score));

    private static double Objective(double[][] inputs, double[] labels, double[] weights, double l2Penalty)
    {
        double objective = 0;
        for (var i = 0; i < inputs.Length; i++)
        {
            var score = Score(weights, inputs[i]);
            objective += Softplus(score) - labels[i] * score;
        }
        for (var j = 1; j < weights.Length; j++) objective += l2Penalty / 2 * weights[j] * weights[j];
        return objective;
    }

    private static (double[] Weights, int Iterations) Newton(
        double[][] inputs, double[] labels, double l2Penalty, int maxIterations)
    {
        var size = inputs[0].Length + 1;
        var weights = new double[size];
        var objective = Objective(inputs, labels, weights, l2Penalty);
        for (var iteration = 1; iteration <= maxIterations; iteration++)
        {
            var gradient = new double[size];
            var hessian = new double[size, size];
            var row = new double[size];
            row[0] = 1;
            for (var i = 0; i < inputs.Length; i++)
            {
                inputs[i].CopyTo(row, 1);
                var probability = Sigmoid(Score(weights, inputs[i]));
                var curvature = probability * (1 - probability);
                for (var a = 0; a < size; a++)
                {
                    gradient[a] += (probability - labels[i]) * row[a];
                    for (var b = 0; b <= a; b++) hessian[a, b] += curvature * row[a] * row[b];
                }
            }
            for (var a = 1; a < size; a++)
            {
                gradient[a] += l2Penalty * weights[a];
                hessian[a, a] += l2Penalty;
            }
            // The unpenalized intercept's curvature vanishes only if every probability saturates; a tiny ridge keeps
            // the solve well defined then.
            hessian[0, 0] += 1e-9;

            var step = DenseLinearAlgebra.SolveCholesky(hessian, gradient);
            // Halve the Newton step until the objective decreases (it is convex, so this terminates).
            var stepSize = 1.0;
            double[] candidate;
            double candidateObjective;
            do
            {
                candidate = new double[size];
                for (var a = 0; a < size; a++) candidate[a] = weights[a] - stepSize * step[a];
                candidateObjective = Objective(inputs, labels, candidate, l2Penalty);
                stepSize /= 2;
            } while (candidateObjective > objective && stepSize > 1e-10);

            var largestChange = 0.0;
            for (var a = 0; a < size; a++) largestChange = Math.Max(largestChange, Math.Abs(candidate[a] - weights[a]));
            weights = candidate;
            objective = Math.Min(objective, candidateObjective);
            if (largestChange < 1e-10) return (weights, iteration);
        }
        return (weights, maxIterations);
    }
}

internal static class DenseLinearAlgebra
{
    /// <summary>
    /// Solves A·x = b for a symmetric positive-definite A given by its lower triangle (A[i, j], j ≤ i).
    /// </summary>
    public static double[] SolveCholesky(double[,] lowerA, double[] b)
    {
        var n = b.Length;
        var l = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = lowerA[i, j];
                for (var k = 0; k < j; k++) sum -= l[i, k] * l[j, k];
                if (i == j)
                {
                    if (sum <= 0) throw new InvalidOperationException("The matrix is not positive definite.");
                    l[i, i] = Math.Sqrt(sum);
                }
                else l[i, j] = sum / l[j, j];
            }
        }
        // Forward substitution L·y = b, then back substitution Lᵀ·x = y.
        var y = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++) sum -= l[i, k] * y[k];
            y[i] = sum / l[i, i];
        }
        var x = new double[n];
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = y[i];
            for (var k = i + 1; k < n; k++) sum -= l[k, i] * x[k];
            x[i] = sum / l[i, i];
        }
        return x;
    }
}
