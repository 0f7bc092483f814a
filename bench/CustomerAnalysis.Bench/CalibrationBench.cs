using System.Globalization;
using CustomerAnalysis.Core.Evaluation;

namespace CustomerAnalysis.Bench;

/// <summary>
/// <c>bench calibration</c>: compares the calibration methods on the probabilities <c>bench real --probabilities</c>
/// saved, without training again. Per fitting set (validation, and validation ∪ val_recent when saved:
/// <c>churn_calibration_data</c>) and method: 5-fold cross-validation inside the set (fit on 4 folds, score the fifth;
/// what a default may be chosen by), then fitted on all of it and scored on test (what is reported), each with the
/// equal-width and equal-mass ECE, bootstrap intervals and the perfect-calibration floor.
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
            var recent = rows.Where(r => r.Run == run && r.Split == "val_recent").ToArray();
            var test = rows.Where(r => r.Run == run && r.Split == "test").ToArray();
            int[] testLabels = test.Select(r => r.Label).ToArray();
            double[] testRaw = test.Select(r => r.Probability).ToArray();
            Console.WriteLine($"== {run}: validation {validation.Length} users (churn rate {Rate(validation)}), val_recent {recent.Length} ({Rate(recent)}), " +
                              $"test {test.Length} ({testLabels.Average():0.000})");
            // Each fitting set of pipeline_params.churn_calibration_data (val_and_recent only when the file has val_recent rows).
            var sets = new List<(string Name, (string Run, string Split, int Label, double Probability)[] Rows)> { ("val", validation) };
            if (recent.Length > 0) sets.Add(("val_and_recent", validation.Concat(recent).ToArray()));
            var served = new Dictionary<(string Set, string Method), double[]>();
            foreach (var (setName, fitRows) in sets)
            {
                int[] validationLabels = fitRows.Select(r => r.Label).ToArray();
                double[] validationRaw = fitRows.Select(r => r.Probability).ToArray();
                Console.WriteLine($"fitted on {setName} ({fitRows.Length} users)");
                Console.WriteLine("method        | fit set 5-fold: log_loss  ece   ece_mass | test: log_loss  brier  roc_auc  ece (95% bootstrap; floor)      ece_mass (95%; floor)");
                Report("uncalibrated", validationLabels, validationRaw, testLabels, testRaw, null);
                // auto: the choice is made inside each fit (so inside each of the 5 folds too), by the fit set only.
                foreach (var method in Enum.GetValues<CalibrationMethod>())
                    served[(setName, CalibrationMethods.Name(method))] =
                        Report(CalibrationMethods.Name(method), validationLabels, validationRaw, testLabels, testRaw, method);
            }
            if (sets.Count > 1) PairedDifferences(testLabels, served);
        }
        return 0;
    }

    private static string Rate((string Run, string Split, int Label, double Probability)[] rows) =>
        rows.Length == 0 ? "-" : rows.Average(r => r.Label).ToString("0.000", CultureInfo.InvariantCulture);

    private static string Describe(ProbabilityCalibration calibration) => calibration is IsotonicCalibration isotonic
        ? $"isotonic, {isotonic.Logits.Length} knots"
        : calibration.ToJson().ToJsonString();

    /// <summary>Per method, test ECE fitted on val_and_recent minus fitted on val, with a paired bootstrap interval
    /// (the same resampled test users for both): whether the fitting set's difference is beyond the split's noise.</summary>
    private static void PairedDifferences(int[] testLabels, Dictionary<(string Set, string Method), double[]> served)
    {
        Console.WriteLine("test ece, fitted on val_and_recent minus fitted on val (95% paired bootstrap over test users):");
        // The bootstrap resamples indices (passed as the "probabilities") so both fits see the same users.
        var indices = Enumerable.Range(0, testLabels.Length).Select(i => (double)i).ToArray();
        foreach (var method in CalibrationMethods.Names)
        {
            double[] both = served[("val_and_recent", method)], alone = served[("val", method)];
            double Difference(int[] labels, double[] picks) =>
                ChurnMetrics.ExpectedCalibrationError(labels, picks.Select(i => both[(int)i]).ToArray())
                - ChurnMetrics.ExpectedCalibrationError(labels, picks.Select(i => alone[(int)i]).ToArray());
            var (low, high) = CalibrationError.BootstrapInterval(testLabels, indices, Difference);
            Console.WriteLine($"  {method,-13} {Difference(testLabels, indices),7:+0.000;-0.000} ({low:+0.000;-0.000} to {high:+0.000;-0.000})");
        }
    }

    private static double[] Report(string name, int[] validationLabels, double[] validationRaw, int[] testLabels, double[] testRaw,
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
        return test;
    }
}
