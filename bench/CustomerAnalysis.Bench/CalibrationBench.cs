using System.Globalization;
using CustomerAnalysis.Core.Evaluation;

namespace CustomerAnalysis.Bench;

/// <summary>
/// <c>bench calibration</c>: compares the calibration methods on the probabilities <c>bench real --probabilities</c>
/// saved, without training again. Per method: 5-fold cross-validation inside the validation split (fit on 4 folds,
/// score the fifth; what a default may be chosen by), then fitted on all of validation and scored on test (what is
/// reported), each with the equal-width and equal-mass ECE, bootstrap intervals and the perfect-calibration floor.
/// </summary>
internal static class CalibrationBench
{
    private const int Folds = 5;

    public static int Run(string probabilitiesPath)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        var rows = File.ReadLines(probabilitiesPath).Skip(1).Select(line => line.Split(','))
            .Select(f => (Run: f[0], Split: f[1], Label: int.Parse(f[2], CultureInfo.InvariantCulture), Probability: double.Parse(f[3], CultureInfo.InvariantCulture)))
            .ToArray();
        foreach (var run in rows.Select(r => r.Run).Distinct())
        {
            var validation = rows.Where(r => r.Run == run && r.Split == "validation").ToArray();
            var test = rows.Where(r => r.Run == run && r.Split == "test").ToArray();
            int[] validationLabels = validation.Select(r => r.Label).ToArray(), testLabels = test.Select(r => r.Label).ToArray();
            double[] validationRaw = validation.Select(r => r.Probability).ToArray(), testRaw = test.Select(r => r.Probability).ToArray();
            Console.WriteLine($"== {run}: validation {validation.Length} users (churn rate {validationLabels.Average():0.000}), test {test.Length} ({testLabels.Average():0.000})");
            Console.WriteLine("method        | validation 5-fold: log_loss  ece   ece_mass | test: log_loss  brier  roc_auc  ece (95% bootstrap; floor)      ece_mass (95%; floor)");
            Report("uncalibrated", validationLabels, validationRaw, testLabels, testRaw, null);
            // auto: the choice is made inside each fit (so inside each of the 5 folds too), by validation only.
            foreach (var method in Enum.GetValues<CalibrationMethod>())
                Report(CalibrationMethods.Name(method), validationLabels, validationRaw, testLabels, testRaw, method);
        }
        return 0;
    }

    private static string Describe(ProbabilityCalibration calibration) => calibration is IsotonicCalibration isotonic
        ? $"isotonic, {isotonic.Logits.Length} knots"
        : calibration.ToJson().ToJsonString();

    private static void Report(string name, int[] validationLabels, double[] validationRaw, int[] testLabels, double[] testRaw,
        CalibrationMethod? method)
    {
        // Out-of-fold calibrated validation probabilities: users dealt to folds in a fixed interleaved order.
        var outOfFold = new double[validationRaw.Length];
        for (var fold = 0; fold < Folds; fold++)
        {
            var fitIndices = Enumerable.Range(0, validationRaw.Length).Where(i => i % Folds != fold).ToArray();
            var calibration = method is { } m
                ? ProbabilityCalibration.Fit(m, fitIndices.Select(i => validationLabels[i]).ToArray(), fitIndices.Select(i => validationRaw[i]).ToArray())
                : PlattScaling.Identity;
            for (var i = fold; i < validationRaw.Length; i += Folds) outOfFold[i] = calibration.Apply(validationRaw[i]);
        }
        var fitted = method is { } all ? ProbabilityCalibration.Fit(all, validationLabels, validationRaw) : PlattScaling.Identity;
        var test = fitted.Apply(testRaw);
        var validationReport = ChurnMetrics.Compute(validationLabels, outOfFold, 0.5).Scalars;
        var testReport = ChurnMetrics.Compute(testLabels, test, 0.5).Scalars;
        Func<int[], double[], double> width = (l, p) => ChurnMetrics.ExpectedCalibrationError(l, p);
        Func<int[], double[], double> mass = (l, p) => CalibrationError.EqualMass(l, p);
        var (wLow, wHigh) = CalibrationError.BootstrapInterval(testLabels, test, width);
        var (mLow, mHigh) = CalibrationError.BootstrapInterval(testLabels, test, mass);
        Console.WriteLine(
            $"{name,-13} | {validationReport[MetricNames.LogLoss],25:0.0000} {validationReport[MetricNames.ExpectedCalibrationError]:0.000} {CalibrationError.EqualMass(validationLabels, outOfFold):0.000}    | " +
            $"{testReport[MetricNames.LogLoss],14:0.0000} {testReport[MetricNames.Brier]:0.0000} {testReport[MetricNames.RocAuc]:0.0000}   " +
            $"{width(testLabels, test):0.000} ({wLow:0.000}-{wHigh:0.000}; {CalibrationError.PerfectCalibrationFloor(test, width):0.000})   " +
            $"{mass(testLabels, test):0.000} ({mLow:0.000}-{mHigh:0.000}; {CalibrationError.PerfectCalibrationFloor(test, mass):0.000})   {Describe(fitted)}");
    }
}
