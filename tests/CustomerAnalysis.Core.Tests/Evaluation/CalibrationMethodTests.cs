using System.Text.Json.Nodes;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Core.Evaluation;

namespace CustomerAnalysis.Core.Tests.Evaluation;

public class CalibrationMethodTests
{
    /// <summary>Users with true churn probability q (uniform in [0.05, 0.95]); the "model" reports distort(q).</summary>
    private static (int[] Labels, double[] Reported) Draw(int count, int seed, Func<double, double> distort)
    {
        var random = new Random(seed);
        var labels = new int[count];
        var reported = new double[count];
        for (var i = 0; i < count; i++)
        {
            var q = 0.05 + 0.9 * random.NextDouble();
            labels[i] = random.NextDouble() < q ? 1 : 0;
            reported[i] = distort(q);
        }
        return (labels, reported);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    private static double Logit(double p) => Math.Log(p / (1 - p));

    // Over-confident (temperature can fix that alone) and, for the others, biased upwards as well.
    private static double Overconfident(double q) => Sigmoid(3 * Logit(q));
    private static double OverconfidentAndBiased(double q) => Sigmoid(3 * Logit(q) + 1);

    [Theory]
    [InlineData(CalibrationMethod.Platt)]
    [InlineData(CalibrationMethod.Temperature)]
    [InlineData(CalibrationMethod.Beta)]
    [InlineData(CalibrationMethod.Isotonic)]
    public void Each_method_fitted_on_validation_lowers_the_test_ece_and_keeps_the_ranking(CalibrationMethod method)
    {
        Func<double, double> distort = method == CalibrationMethod.Temperature ? Overconfident : OverconfidentAndBiased;
        var validation = Draw(20000, 1, distort);
        var test = Draw(20000, 2, distort);

        var calibration = ProbabilityCalibration.Fit(method, validation.Labels, validation.Reported);
        var calibrated = calibration.Apply(test.Reported);

        Assert.Equal(method, calibration.Method);
        var before = ChurnMetrics.ExpectedCalibrationError(test.Labels, test.Reported);
        var after = ChurnMetrics.ExpectedCalibrationError(test.Labels, calibrated);
        Assert.True(before > 0.06 && after < 0.02, $"{method}: ECE before {before:0.000}, after {after:0.000} ({calibration})");
        Assert.Equal(ChurnMetrics.RocAuc(test.Labels, test.Reported), ChurnMetrics.RocAuc(test.Labels, calibrated), 12);
        // Strictly increasing over the whole range, beyond the fitted one too: no two users are tied by it.
        var grid = Enumerable.Range(0, 2001).Select(i => i / 2000.0).ToArray();
        var mapped = calibration.Apply(grid);
        for (var i = 1; i < grid.Length - 1; i++)
            Assert.True(mapped[i] > mapped[i - 1], $"{method}: f({grid[i]}) = {mapped[i]} is not above f({grid[i - 1]}) = {mapped[i - 1]}");
        // Deterministic: the same validation split gives the same map.
        Assert.Equal(calibration, ProbabilityCalibration.Fit(method, validation.Labels, validation.Reported));
    }

    [Fact]
    public void Beta_calibration_fixes_an_asymmetric_distortion_that_platt_scaling_cannot()
    {
        // The model's probabilities r are bent unevenly: the true q = σ(4 · ln r − 0.5 · ln(1 − r)), inside the beta
        // family but outside Platt's (which bends both ends alike).
        static double Distort(double q)
        {
            double low = 1e-12, high = 1 - 1e-12;
            for (var i = 0; i < 100; i++)
            {
                var r = (low + high) / 2;
                if (Sigmoid(4 * Math.Log(r) - 0.5 * Math.Log(1 - r)) < q) low = r; else high = r;
            }
            return (low + high) / 2;
        }
        var validation = Draw(20000, 3, Distort);
        var test = Draw(20000, 4, Distort);

        double LogLoss(ProbabilityCalibration c) => ChurnMetrics.Compute(test.Labels, c.Apply(test.Reported), 0.5).Scalars[MetricNames.LogLoss];
        var platt = ProbabilityCalibration.Fit(CalibrationMethod.Platt, validation.Labels, validation.Reported);
        var beta = (BetaCalibration)ProbabilityCalibration.Fit(CalibrationMethod.Beta, validation.Labels, validation.Reported);

        double Ece(ProbabilityCalibration c) => ChurnMetrics.ExpectedCalibrationError(test.Labels, c.Apply(test.Reported));
        var message = $"beta {beta} log loss {LogLoss(beta):0.0000} ECE {Ece(beta):0.000}; platt {platt} {LogLoss(platt):0.0000} {Ece(platt):0.000}";
        Assert.True(LogLoss(beta) < LogLoss(platt) - 0.003, message);
        Assert.True(Ece(beta) < 0.015 && Ece(platt) > Ece(beta) + 0.01, message);
        Assert.InRange(beta.A, 3.4, 4.6);
        Assert.InRange(beta.B, 0.3, 0.7);
    }

    [Theory]
    [InlineData(CalibrationMethod.Platt)]
    [InlineData(CalibrationMethod.Temperature)]
    [InlineData(CalibrationMethod.Beta)]
    [InlineData(CalibrationMethod.Isotonic)]
    public void Each_method_reads_back_from_its_json_and_maps_the_same(CalibrationMethod method)
    {
        var validation = Draw(3000, 5, OverconfidentAndBiased);
        var calibration = ProbabilityCalibration.Fit(method, validation.Labels, validation.Reported);
        var json = calibration.ToJson();
        Assert.Equal(CalibrationMethods.Name(method), json["method"]!.GetValue<string>());

        var read = ProbabilityCalibration.FromJson(JsonNode.Parse(json.ToJsonString()));
        Assert.Equal(calibration, read);
        foreach (var p in new[] { 0.0, 1e-9, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0 })
            Assert.Equal(calibration.Apply(p), read.Apply(p));
    }

    [Fact]
    public void A_platt_object_as_checkpoints_wrote_it_before_the_other_methods_reads_as_the_same_platt_scaling()
    {
        var read = ProbabilityCalibration.FromJson(JsonNode.Parse("""{"method": "platt", "slope": 1.17, "intercept": -0.38}"""));
        Assert.Equal(new PlattScaling(1.17, -0.38), read);
        Assert.Equal(Sigmoid(1.17 * Logit(0.8) - 0.38), read.Apply(0.8), 12);
        Assert.Equal("""{"method":"platt","slope":1.17,"intercept":-0.38}""", read.ToJson().ToJsonString());
        Assert.True(ProbabilityCalibration.FromJson(null).IsIdentity);
    }

    [Theory]
    [InlineData("""{"method": "histogram"}""", "histogram")]
    [InlineData("""{"method": "auto"}""", "auto")]
    [InlineData("""{"method": "temperature"}""", "temperature")]
    [InlineData("""{"method": "isotonic", "logits": [0, 1], "calibrated_logits": [2, 1]}""", "strictly increasing")]
    public void A_damaged_or_unknown_calibration_is_invalid_input_naming_it(string json, string hint)
    {
        var error = Assert.Throws<InvalidInputException>(() => ProbabilityCalibration.FromJson(JsonNode.Parse(json)));
        Assert.Contains(hint, error.Message);
    }

    [Fact]
    public void The_config_binds_the_method_and_rejects_an_unknown_one_naming_the_key()
    {
        Assert.Equal(CalibrationMethod.Auto, NnConfig.Parse("""{"model_type": "rnn"}""").Pipeline.ChurnCalibration);
        Assert.Equal(CalibrationMethod.Isotonic,
            NnConfig.Parse("""{"model_type": "rnn", "pipeline_params": {"churn_calibration": "isotonic"}}""").Pipeline.ChurnCalibration);
        var error = Assert.Throws<InvalidInputException>(() =>
            NnConfig.Parse("""{"model_type": "rnn", "pipeline_params": {"churn_calibration": "histogram"}}"""));
        Assert.Contains("pipeline_params.churn_calibration", error.Message);
        Assert.Contains("\"beta\"", error.Message);
        Assert.Contains("\"auto\"", error.Message);
    }

    [Fact]
    public void Auto_picks_by_validation_cross_validation_the_method_that_fits_the_distortion()
    {
        // Platt's family holds the truth here; a one-parameter temperature cannot move the base rate.
        var platt = Draw(4000, 7, OverconfidentAndBiased);
        var chosen = ProbabilityCalibration.ChooseByCrossValidation(platt.Labels, platt.Reported);
        Assert.NotEqual(CalibrationMethod.Temperature, chosen);
        var fitted = ProbabilityCalibration.Fit(CalibrationMethod.Auto, platt.Labels, platt.Reported);
        Assert.Equal(chosen, fitted.Method);
        Assert.Equal(ProbabilityCalibration.Fit(chosen, platt.Labels, platt.Reported), fitted);
        // Too few users to cross-validate: Platt, as before the other methods.
        Assert.Equal(CalibrationMethod.Platt, ProbabilityCalibration.ChooseByCrossValidation([0, 1, 0, 1], [0.2, 0.6, 0.3, 0.9]));
    }

    [Fact]
    public void Equal_mass_ece_bootstrap_and_floor_behave_as_defined()
    {
        // Equal-mass bins of 2: {0.1, 0.2} labels {0, 0} → |0.3 − 0| ; {0.6, 0.9} labels {1, 1} → |1.5 − 2|; over 4 users.
        Assert.Equal((0.3 + 0.5) / 4, CalibrationError.EqualMass([0, 0, 1, 1], [0.1, 0.2, 0.6, 0.9], bins: 2), 12);

        var data = Draw(800, 6, q => q);
        Func<int[], double[], double> ece = (l, p) => ChurnMetrics.ExpectedCalibrationError(l, p);
        var floor = CalibrationError.PerfectCalibrationFloor(data.Reported, ece, draws: 300);
        // Calibrated by construction, yet on 800 users the 10-bin ECE is about 0.03, not 0: the estimator's floor.
        Assert.InRange(floor, 0.02, 0.045);
        var (low, high) = CalibrationError.BootstrapInterval(data.Labels, data.Reported, ece, resamples: 300);
        Assert.True(low < high && low > 0, $"{low}-{high}");
        Assert.Equal((low, high), CalibrationError.BootstrapInterval(data.Labels, data.Reported, ece, resamples: 300));
    }
}
