using System.Text.Json.Nodes;

namespace CustomerAnalysis.Core.Evaluation;

/// <summary>How churn probabilities are calibrated on the validation split (<c>pipeline_params.churn_calibration</c>).
/// Every map is strictly increasing, so the ranking of users (ROC-AUC, PR-AUC) does not change.</summary>
public enum CalibrationMethod
{
    /// <summary>σ(a · logit p + b): <see cref="PlattScaling"/>.</summary>
    Platt,
    /// <summary>σ(logit p / T): <see cref="TemperatureScaling"/>, one parameter.</summary>
    Temperature,
    /// <summary>σ(a · ln p − b · ln(1 − p) + c), a, b ≥ 0: <see cref="BetaCalibration"/>.</summary>
    Beta,
    /// <summary>Pool-adjacent-violators on the validation split, smoothed: <see cref="IsotonicCalibration"/>.</summary>
    Isotonic,
    /// <summary>The method above with the lowest log loss in a 5-fold cross-validation inside the validation split,
    /// then fitted on all of it (<see cref="ProbabilityCalibration.ChooseByCrossValidation"/>); the checkpoint stores
    /// the chosen method.</summary>
    Auto,
}

public static class CalibrationMethods
{
    /// <summary>The names the config and the checkpoint use, in <see cref="CalibrationMethod"/> order.</summary>
    public static readonly string[] Names = ["platt", "temperature", "beta", "isotonic", "auto"];

    /// <summary>The methods that are maps (all but <see cref="CalibrationMethod.Auto"/>, which picks one of them).</summary>
    public static readonly CalibrationMethod[] Fitted =
        [CalibrationMethod.Platt, CalibrationMethod.Temperature, CalibrationMethod.Beta, CalibrationMethod.Isotonic];

    public static CalibrationMethod Parse(string name) =>
        (CalibrationMethod)Array.FindIndex(Names, n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) is var method
        && Enum.IsDefined(method) ? method : throw new ArgumentException($"Unknown calibration method '{name}'.", nameof(name));

    public static string Name(CalibrationMethod method) => Names[(int)method];
}

/// <summary>Which examples churn's calibration is fitted on (<c>pipeline_params.churn_calibration_data</c>). Test
/// keeps its users' examples of every day, while <c>holdout_days</c> moves the last day(s) of the training and
/// validation users to val_recent: a calibration fitted on validation alone never sees the days closest to test
/// (issue 10).</summary>
public enum CalibrationData
{
    /// <summary>The validation split only (what every checkpoint did before the option).</summary>
    Validation,
    /// <summary>The validation split and the val_recent split together (validation alone when there is none): more
    /// users, and the most recent day among them. Neither split is trained on.</summary>
    ValidationAndRecent,
}

public static class CalibrationDatas
{
    /// <summary>The names the config uses, in <see cref="CalibrationData"/> order.</summary>
    public static readonly string[] Names = ["val", "val_and_recent"];

    public static CalibrationData Parse(string name) =>
        (CalibrationData)Array.FindIndex(Names, n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) is var data
        && Enum.IsDefined(data) ? data : throw new ArgumentException($"Unknown calibration data '{name}'.", nameof(name));

    public static string Name(CalibrationData data) => Names[(int)data];
}

/// <summary>
/// A map from a model's churn probability to the served one, fitted on the validation split(s) (never on test) so that
/// among users given probability ≈ q about a share q churn. Stored in the checkpoint's <c>churn_calibration</c> as
/// <see cref="ToJson"/> writes it: the <c>method</c> field says which parameters follow, so a checkpoint written
/// before a method existed (Platt only) reads and serves exactly as before.
/// </summary>
public abstract record ProbabilityCalibration
{
    // Model probabilities are float32: logit(1 − 1e-7) is about 16, beyond which floats cannot tell values apart.
    internal const double Clip = 1e-7;

    public abstract CalibrationMethod Method { get; }

    /// <summary>Leaves every probability as it is (nothing to fit on, or a checkpoint without calibration).</summary>
    public abstract bool IsIdentity { get; }

    public abstract double Apply(double probability);

    public double[] Apply(IReadOnlyList<double> probabilities) => probabilities.Select(Apply).ToArray();

    /// <summary>Fits <paramref name="method"/> on validation labels and probabilities; identity (a Platt scaling of
    /// slope 1, intercept 0) when the labels hold one class only.</summary>
    public static ProbabilityCalibration Fit(CalibrationMethod method, IReadOnlyList<int> labels, IReadOnlyList<double> probabilities) =>
        method switch
        {
            CalibrationMethod.Platt => PlattScaling.Fit(labels, probabilities),
            CalibrationMethod.Temperature => TemperatureScaling.Fit(labels, probabilities),
            CalibrationMethod.Beta => BetaCalibration.Fit(labels, probabilities),
            CalibrationMethod.Isotonic => IsotonicCalibration.Fit(labels, probabilities),
            CalibrationMethod.Auto => Fit(ChooseByCrossValidation(labels, probabilities), labels, probabilities),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
        };

    /// <summary>Folds of <see cref="ChooseByCrossValidation"/>.</summary>
    public const int ChoiceFolds = 5;

    /// <summary>
    /// The fitted method whose out-of-fold probabilities have the lowest log loss (a proper score: it rewards
    /// calibration and is far less noisy than a binned ECE on a few hundred users): users dealt to
    /// <see cref="ChoiceFolds"/> folds in turn (user i to fold i mod 5), each fold scored by the method fitted on the
    /// others. Ties go to the earlier method (Platt first). Deterministic.
    /// </summary>
    public static CalibrationMethod ChooseByCrossValidation(IReadOnlyList<int> labels, IReadOnlyList<double> probabilities)
    {
        if (labels.Count < 2 * ChoiceFolds || SmoothedTargets(labels, probabilities) is null) return CalibrationMethod.Platt;
        var best = (Method: CalibrationMethod.Platt, Loss: double.PositiveInfinity);
        foreach (var method in CalibrationMethods.Fitted)
        {
            double loss = 0;
            for (var fold = 0; fold < ChoiceFolds; fold++)
            {
                var fit = Enumerable.Range(0, labels.Count).Where(i => i % ChoiceFolds != fold).ToArray();
                var calibration = Fit(method, fit.Select(i => labels[i]).ToArray(), fit.Select(i => probabilities[i]).ToArray());
                for (var i = fold; i < labels.Count; i += ChoiceFolds)
                {
                    var p = Math.Clamp(calibration.Apply(probabilities[i]), ChurnMetrics.LogLossEpsilon, 1 - ChurnMetrics.LogLossEpsilon);
                    loss -= labels[i] == 1 ? Math.Log(p) : Math.Log(1 - p);
                }
            }
            if (loss < best.Loss) best = (method, loss);
        }
        return best.Method;
    }

    /// <summary>The checkpoint's <c>churn_calibration</c> object: <c>method</c> and the method's parameters.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["method"] = CalibrationMethods.Name(Method) };
        WriteParameters(json);
        return json;
    }

    protected abstract void WriteParameters(JsonObject json);

    /// <summary>Reads <see cref="ToJson"/>'s object; absent or null: identity. An unknown method or damaged parameters
    /// are an <see cref="InvalidInputException"/> naming the field.</summary>
    public static ProbabilityCalibration FromJson(JsonNode? node)
    {
        if (node is null) return PlattScaling.Identity;
        var name = node["method"]?.GetValue<string>();
        var method = Array.IndexOf(CalibrationMethods.Names, name);
        // "auto" is a choice made when fitting, never a stored map.
        if (method < 0 || (CalibrationMethod)method == CalibrationMethod.Auto)
            throw new InvalidInputException(
                $"Model checkpoint churn_calibration method '{name}' is not supported (expected one of {string.Join(", ", CalibrationMethods.Fitted.Select(CalibrationMethods.Name))}).");
        ProbabilityCalibration calibration = (CalibrationMethod)method switch
        {
            CalibrationMethod.Platt => new PlattScaling(Number(node, "slope"), Number(node, "intercept")),
            CalibrationMethod.Temperature => new TemperatureScaling(Number(node, "temperature")),
            CalibrationMethod.Beta => new BetaCalibration(Number(node, "a"), Number(node, "b"), Number(node, "c")),
            CalibrationMethod.Isotonic => new IsotonicCalibration(Numbers(node, "logits"), Numbers(node, "calibrated_logits")),
            _ => throw new InvalidOperationException("unreachable"),
        };
        return calibration;
    }

    private static double Number(JsonNode node, string key)
    {
        var value = node[key]?.GetValue<double>() ?? throw new InvalidInputException($"Model checkpoint churn_calibration has no '{key}'.");
        if (!double.IsFinite(value)) throw new InvalidInputException($"Model checkpoint churn_calibration '{key}' is not finite.");
        return value;
    }

    private static double[] Numbers(JsonNode node, string key)
    {
        var values = node[key]?.AsArray().Select(v => v!.GetValue<double>()).ToArray()
            ?? throw new InvalidInputException($"Model checkpoint churn_calibration has no '{key}'.");
        if (values.Any(v => !double.IsFinite(v))) throw new InvalidInputException($"Model checkpoint churn_calibration '{key}' holds a non-finite value.");
        return values;
    }

    internal static double Logit(double probability)
    {
        var p = Math.Clamp(probability, Clip, 1 - Clip);
        return Math.Log(p / (1 - p));
    }

    internal static double Sigmoid(double score) =>
        score >= 0 ? 1 / (1 + Math.Exp(-score)) : Math.Exp(score) / (1 + Math.Exp(score));

    /// <summary>Platt's smoothed targets, (N₊ + 1) / (N₊ + 2) for churned and 1 / (N₋ + 2) for returned: they keep a
    /// small or separable validation split from pushing a slope to infinity. Null when one class is missing.</summary>
    internal static double[]? SmoothedTargets(IReadOnlyList<int> labels, IReadOnlyList<double> probabilities)
    {
        if (labels.Count != probabilities.Count)
            throw new ArgumentException($"{probabilities.Count} probabilities for {labels.Count} labels.", nameof(probabilities));
        var positives = labels.Count(l => l == 1);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0) return null;
        double high = (positives + 1.0) / (positives + 2.0), low = 1.0 / (negatives + 2.0);
        return labels.Select(l => l == 1 ? high : low).ToArray();
    }
}

/// <summary>Temperature scaling: calibrated = σ(logit(p) / <see cref="Temperature"/>); T &gt; 1 softens over-confident
/// probabilities. One parameter, so it cannot move the base rate (Platt's intercept can).</summary>
public sealed record TemperatureScaling(double Temperature) : ProbabilityCalibration
{
    public override CalibrationMethod Method => CalibrationMethod.Temperature;
    public override bool IsIdentity => Temperature == 1;
    public override double Apply(double probability) => Sigmoid(Logit(probability) / Temperature);
    protected override void WriteParameters(JsonObject json) => json["temperature"] = Temperature;

    /// <summary>Minimizes the log loss against Platt's smoothed targets over 1/T (Newton with step halving).</summary>
    public static ProbabilityCalibration Fit(IReadOnlyList<int> labels, IReadOnlyList<double> probabilities)
    {
        if (SmoothedTargets(labels, probabilities) is not { } targets) return PlattScaling.Identity;
        var inputs = probabilities.Select(p => new[] { Logit(p) }).ToArray();
        var weights = LogisticFit.Fit(inputs, targets, withIntercept: false, start: [1.0]);
        // A non-positive 1/T would reverse or flatten the ranking (the model's scores carry little order): Platt's fit.
        return weights[0] > 1e-6 ? new TemperatureScaling(1 / weights[0]) : PlattScaling.Fit(labels, probabilities);
    }
}

/// <summary>
/// Beta calibration (Kull et al., 2017): calibrated = σ(<see cref="A"/> · ln p − <see cref="B"/> · ln(1 − p) + <see cref="C"/>),
/// with a, b ≥ 0 so it is increasing. Platt scaling is the case a = b; the third parameter lets the low and the high
/// end bend differently.
/// </summary>
public sealed record BetaCalibration(double A, double B, double C) : ProbabilityCalibration
{
    public override CalibrationMethod Method => CalibrationMethod.Beta;
    public override bool IsIdentity => A == 1 && B == 1 && C == 0;

    public override double Apply(double probability)
    {
        var p = Math.Clamp(probability, Clip, 1 - Clip);
        return Sigmoid(A * Math.Log(p) - B * Math.Log(1 - p) + C);
    }

    protected override void WriteParameters(JsonObject json)
    {
        json["a"] = A;
        json["b"] = B;
        json["c"] = C;
    }

    /// <summary>Logistic regression on (ln p, −ln(1 − p)) against Platt's smoothed targets; a coefficient that comes
    /// out negative is fixed at 0 and the other refitted, as the method's authors do; when that one too comes out
    /// non-positive, Platt scaling.</summary>
    public static ProbabilityCalibration Fit(IReadOnlyList<int> labels, IReadOnlyList<double> probabilities)
    {
        if (SmoothedTargets(labels, probabilities) is not { } targets) return PlattScaling.Identity;
        var clipped = probabilities.Select(p => Math.Clamp(p, Clip, 1 - Clip)).ToArray();
        var both = clipped.Select(p => new[] { Math.Log(p), -Math.Log(1 - p) }).ToArray();
        var w = LogisticFit.Fit(both, targets, withIntercept: true, start: [1.0, 1.0, 0.0]);
        if (w[0] >= 0 && w[1] >= 0 && w[0] + w[1] > 1e-6) return new BetaCalibration(w[0], w[1], w[2]);
        // One coefficient negative: keep the other feature alone.
        var keepLow = w[0] >= w[1];
        var one = clipped.Select(p => new[] { keepLow ? Math.Log(p) : -Math.Log(1 - p) }).ToArray();
        var v = LogisticFit.Fit(one, targets, withIntercept: true, start: [1.0, 0.0]);
        // No increasing beta map fits (the model's scores carry little order): Platt's fit, the former default.
        if (v[0] <= 1e-6) return PlattScaling.Fit(labels, probabilities);
        return keepLow ? new BetaCalibration(v[0], 0, v[1]) : new BetaCalibration(0, v[0], v[1]);
    }
}

/// <summary>
/// Isotonic regression smoothed into a strictly increasing map: the validation users sorted by probability are pooled
/// into blocks whose churn rates increase (pool-adjacent-violators), each block's rate is smoothed with
/// <see cref="PriorWeight"/> pseudo-users at the overall rate (and blocks pooled again where that breaks the order),
/// and the map interpolates linearly in logit space between the blocks' (mean logit, rate logit) knots,
/// extending the end segments beyond them. A step function would tie users (and change ROC-AUC); this does not.
/// </summary>
public sealed record IsotonicCalibration : ProbabilityCalibration
{
    /// <summary>Pseudo-users at the overall churn rate added to each block: a block of 3 users reads ≈ 3/5 of its own
    /// rate, one of 300 its own.</summary>
    public const double PriorWeight = 2;

    public IsotonicCalibration(double[] logits, double[] calibratedLogits)
    {
        if (logits.Length == 0 || logits.Length != calibratedLogits.Length)
            throw new InvalidInputException($"Isotonic calibration needs as many calibrated logits ({calibratedLogits.Length}) as logits ({logits.Length}), at least one.");
        for (var i = 1; i < logits.Length; i++)
            if (!(logits[i] > logits[i - 1]) || !(calibratedLogits[i] > calibratedLogits[i - 1]))
                throw new InvalidInputException("Isotonic calibration knots must be strictly increasing.");
        Logits = logits;
        CalibratedLogits = calibratedLogits;
    }

    /// <summary>Knots: mean logit of the model's probabilities per block, increasing.</summary>
    public double[] Logits { get; }
    /// <summary>Knots: logit of each block's smoothed churn rate, increasing.</summary>
    public double[] CalibratedLogits { get; }

    public override CalibrationMethod Method => CalibrationMethod.Isotonic;
    public override bool IsIdentity => false;

    public override double Apply(double probability)
    {
        var x = Logit(probability);
        if (Logits.Length == 1) return Sigmoid(x - Logits[0] + CalibratedLogits[0]);
        // The segment x falls in, or the nearest end segment (extended).
        var index = Array.BinarySearch(Logits, x);
        var right = index >= 0 ? index : ~index;
        right = Math.Clamp(right, 1, Logits.Length - 1);
        var left = right - 1;
        var slope = (CalibratedLogits[right] - CalibratedLogits[left]) / (Logits[right] - Logits[left]);
        return Sigmoid(CalibratedLogits[left] + slope * (x - Logits[left]));
    }

    protected override void WriteParameters(JsonObject json)
    {
        json["logits"] = new JsonArray(Logits.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
        json["calibrated_logits"] = new JsonArray(CalibratedLogits.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());
    }

    public bool Equals(IsotonicCalibration? other) =>
        other is not null && Logits.SequenceEqual(other.Logits) && CalibratedLogits.SequenceEqual(other.CalibratedLogits);

    public override int GetHashCode() => HashCode.Combine(Logits.Length, Logits[0], CalibratedLogits[^1]);

    public static ProbabilityCalibration Fit(IReadOnlyList<int> labels, IReadOnlyList<double> probabilities)
    {
        if (SmoothedTargets(labels, probabilities) is null) return PlattScaling.Identity;
        var order = Enumerable.Range(0, labels.Count).OrderBy(i => probabilities[i]).ToArray();
        var overall = labels.Average();
        // Blocks: (logit sum, churned, count); equal (clipped) probabilities start in one block: they map to one value.
        var blocks = new List<(double LogitSum, double Churned, double Count)>();
        for (var k = 0; k < order.Length; k++)
        {
            var i = order[k];
            var logit = Logit(probabilities[i]);
            if (blocks.Count > 0 && k > 0 && Logit(probabilities[order[k - 1]]) == logit)
                blocks[^1] = (blocks[^1].LogitSum + logit, blocks[^1].Churned + labels[i], blocks[^1].Count + 1);
            else
                blocks.Add((logit, labels[i], 1));
        }
        // Raw rates first, then smoothed ones: each pass pools neighbours until the rates strictly increase.
        Pool(blocks, b => b.Churned / b.Count);
        Pool(blocks, b => (b.Churned + PriorWeight * overall) / (b.Count + PriorWeight));
        var logits = blocks.Select(b => b.LogitSum / b.Count).ToArray();
        var rates = blocks.Select(b => Logit((b.Churned + PriorWeight * overall) / (b.Count + PriorWeight))).ToArray();
        return new IsotonicCalibration(logits, rates);
    }

    private static void Pool(List<(double LogitSum, double Churned, double Count)> blocks,
        Func<(double LogitSum, double Churned, double Count), double> rate)
    {
        var stack = new List<(double LogitSum, double Churned, double Count)>();
        foreach (var block in blocks)
        {
            var current = block;
            while (stack.Count > 0 && rate(stack[^1]) >= rate(current))
            {
                var top = stack[^1];
                stack.RemoveAt(stack.Count - 1);
                current = (top.LogitSum + current.LogitSum, top.Churned + current.Churned, top.Count + current.Count);
            }
            stack.Add(current);
        }
        blocks.Clear();
        blocks.AddRange(stack);
    }
}

/// <summary>Logistic regression by Newton's method with step halving against soft targets: deterministic.</summary>
internal static class LogisticFit
{
    public static double[] Fit(double[][] inputs, double[] targets, bool withIntercept, double[] start)
    {
        var width = inputs[0].Length + (withIntercept ? 1 : 0);
        var rows = inputs.Select(r => withIntercept ? [.. r, 1.0] : r).ToArray();
        var w = (double[])start.Clone();
        var loss = Loss(rows, targets, w);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            var gradient = new double[width];
            var hessian = new double[width, width];
            for (var i = 0; i < rows.Length; i++)
            {
                var p = Sigmoid(Dot(rows[i], w));
                var residual = p - targets[i];
                var curvature = Math.Max(p * (1 - p), 1e-12);
                for (var a = 0; a < width; a++)
                {
                    gradient[a] += residual * rows[i][a];
                    for (var b = 0; b < width; b++) hessian[a, b] += curvature * rows[i][a] * rows[i][b];
                }
            }
            // A tiny ridge keeps the solve defined when the inputs are collinear (e.g. every probability the same).
            for (var a = 0; a < width; a++) hessian[a, a] += 1e-9;
            var step = Solve(hessian, gradient);
            var size = 1.0;
            double[] candidate;
            double candidateLoss;
            do
            {
                candidate = w.Select((v, a) => v - size * step[a]).ToArray();
                candidateLoss = Loss(rows, targets, candidate);
                size /= 2;
            } while (candidateLoss > loss && size > 1e-10);
            if (candidateLoss > loss) break;
            var change = candidate.Select((v, a) => Math.Abs(v - w[a])).Max();
            (w, loss) = (candidate, candidateLoss);
            if (change < 1e-10) break;
        }
        return w;
    }

    private static double Dot(double[] row, double[] w)
    {
        double total = 0;
        for (var a = 0; a < w.Length; a++) total += row[a] * w[a];
        return total;
    }

    private static double Loss(double[][] rows, double[] targets, double[] w)
    {
        double total = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            var score = Dot(rows[i], w);
            // Cross-entropy with a soft target: softplus(score) − target · score.
            total += (score > 0 ? score + Math.Log(1 + Math.Exp(-score)) : Math.Log(1 + Math.Exp(score))) - targets[i] * score;
        }
        return total;
    }

    /// <summary>Gaussian elimination with partial pivoting (the systems are 1×1 to 3×3).</summary>
    private static double[] Solve(double[,] matrix, double[] vector)
    {
        var n = vector.Length;
        var m = (double[,])matrix.Clone();
        var v = (double[])vector.Clone();
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            if (pivot != col)
            {
                for (var c = 0; c < n; c++) (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
                (v[col], v[pivot]) = (v[pivot], v[col]);
            }
            for (var r = col + 1; r < n; r++)
            {
                var factor = m[r, col] / m[col, col];
                for (var c = col; c < n; c++) m[r, c] -= factor * m[col, c];
                v[r] -= factor * v[col];
            }
        }
        var x = new double[n];
        for (var r = n - 1; r >= 0; r--)
        {
            var sum = v[r];
            for (var c = r + 1; c < n; c++) sum -= m[r, c] * x[c];
            x[r] = sum / m[r, r];
        }
        return x;
    }

    private static double Sigmoid(double score) => ProbabilityCalibration.Sigmoid(score);
}
