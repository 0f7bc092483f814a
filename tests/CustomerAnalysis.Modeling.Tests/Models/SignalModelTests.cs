using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Baselines;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Models;

/// <summary>Models and trees with GA4 signals (<c>use_signals</c>): they learn what only the signals tell, off is
/// exactly the names-only model, checkpoints carry the encoding, serving encodes raw values with it.</summary>
public class SignalModelTests
{
    private static readonly SignalSet Set = Signals.ParseList("device_category,page_path,engagement_time_msec");

    /// <summary>Churn where the label is the user's device (mobile churns) and the tokens are noise; each event also
    /// has a page (event categorical) and an engagement time (numeric, missing on every third event).</summary>
    private static PreparedDataset Dataset(bool withSignals)
    {
        var plain = SyntheticSequences.Create(PredictionTask.Churn, train: 400, validation: 100, test: 100, seed: 5);
        var random = new Random(9);
        var encoding = SignalEncoding.Fit(Set,
            [new Dictionary<string, long> { ["shop/a"] = 10, ["shop/b"] = 5 }, new Dictionary<string, long> { ["mobile"] = 10, ["desktop"] = 9 }],
            [Enumerable.Range(0, 100).Select(i => (float)i * 10)], vocabularyCap: 10);
        IReadOnlyList<SequenceExample> With(IReadOnlyList<SequenceExample> split) => split.Select(e =>
        {
            var label = random.Next(2);
            var device = encoding.Encode(encoding.UserCategorical[0], label == 1 ? "mobile" : "desktop");
            var pages = e.Tokens.Select(_ => encoding.Encode(encoding.EventCategorical[0], random.Next(2) == 0 ? "shop/a" : "shop/b")).ToArray();
            var times = e.Tokens.Select((_, i) => i % 3 == 2 ? null : SignalEncoding.Scale(encoding.EventNumeric[0], random.Next(1000))).ToArray();
            return e with { Label = label, Signals = withSignals ? new ExampleSignals([pages], [times], [device]) : null };
        }).ToArray();
        var options = withSignals ? plain.Options with { Signals = Set } : plain.Options;
        return plain with
        {
            Options = options, Train = With(plain.Train), Validation = With(plain.Validation), Test = With(plain.Test),
            Signals = withSignals ? encoding : null,
        };
    }

    private static Core.Configuration.NnConfig Config(string model, bool useSignals) => SyntheticSequences.Config(model, PredictionTask.Churn,
        init: $"\"max_sequence_length\": 20, \"use_signals\": {(useSignals ? "true" : "false")}" + (model == "rnn" ? ", \"embedding_size\": 16, \"hidden_size\": 16" : ", \"model_size\": 16"),
        training: "\"num_epochs\": 12, \"learning_rate\": 0.01, \"seed\": 4");

    private static TrainingResult Train(PreparedDataset data, Core.Configuration.NnConfig config) =>
        Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, new TrainingRun(Threads: 1, Seed: 4));

    [Theory]
    [InlineData("rnn")]
    [InlineData("transformer")]
    public void A_model_with_signals_learns_what_only_the_signals_tell(string model)
    {
        var data = Dataset(withSignals: true);

        using var withSignals = Train(data, Config(model, useSignals: true)).Model;
        using var namesOnly = Train(data, Config(model, useSignals: false)).Model;

        var accuracy = SyntheticSequences.Accuracy(Trainer.Predict(withSignals, data.Test, 20, 32));
        var namesAccuracy = SyntheticSequences.Accuracy(Trainer.Predict(namesOnly, data.Test, 20, 32));
        Assert.True(accuracy > 0.95, $"with signals {accuracy:0.000}");
        Assert.True(namesAccuracy < 0.7, $"names only {namesAccuracy:0.000}");
    }

    [Fact]
    public void Off_is_exactly_the_names_only_model_whatever_the_dataset_holds()
    {
        var config = Config("rnn", useSignals: false);
        using var onSignalData = Train(Dataset(withSignals: true), config).Model;
        using var onPlainData = Train(Dataset(withSignals: false), config).Model;

        Assert.Null(onSignalData.Signals);
        Assert.Equal(onPlainData.parameters().Count(), onSignalData.parameters().Count());
        var test = Dataset(withSignals: false).Test;
        Assert.Equal(Trainer.Predict(onPlainData, test, 20, 32).Probabilities, Trainer.Predict(onSignalData, test, 20, 32).Probabilities);
    }

    [Fact]
    public void Use_signals_on_a_dataset_without_them_is_an_input_error()
    {
        var error = Assert.Throws<InvalidInputException>(() => Train(Dataset(withSignals: false), Config("rnn", useSignals: true)));
        Assert.Contains("use_signals", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_checkpoint_carries_the_encoding_and_serving_reads_raw_signals_with_it()
    {
        var data = Dataset(withSignals: true);
        var result = Train(data, Config("rnn", useSignals: true));
        var checkpoint = ModelCheckpoint.FromTraining(result, data.Vocabulary);
        using var stream = new MemoryStream();
        checkpoint.Write(stream);
        stream.Position = 0;

        var read = ModelCheckpoint.Read(stream);

        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(data.Signals!.Features),
            System.Text.Json.JsonSerializer.Serialize(read.Model.Signals!.Features));
        Assert.Equal(Trainer.Predict(result.Model, data.Test, 20, 32).Probabilities, Trainer.Predict(read.Model, data.Test, 20, 32).Probabilities);
        using var predictor = new Predictor(read);
        // The label is the device: served from raw values (a URL bucketed to a page, a number scaled), the model
        // tells a mobile user from a desktop one as on the prepared test split.
        SessionInput Session(string device) => new(["event_0", "event_1"], Signals:
        [
            new EventSignalValues(new Dictionary<SignalField, string> { [SignalField.DeviceCategory] = device, [SignalField.PagePath] = "https://shop/a?x=1" },
                new Dictionary<SignalField, double> { [SignalField.EngagementTimeMsec] = 420 }),
            null,
        ]);
        var served = predictor.Predict([Session("mobile"), Session("desktop"), new SessionInput(["event_0", "event_1"])], 1);
        Assert.True(served[0].ChurnProbability > 0.5 && served[1].ChurnProbability < 0.5,
            $"mobile {served[0].ChurnProbability}, desktop {served[1].ChurnProbability}");
        // No signals at all: every one <MISSING>, served (neither device, so not the mobile answer).
        Assert.NotEqual(served[0].ChurnProbability, served[2].ChurnProbability);
        var wrong = Assert.Throws<InvalidInputException>(() => predictor.Predict([new SessionInput(["event_0", "event_1"], Signals: [null])], 1));
        Assert.Contains("signal rows", wrong.Message, StringComparison.Ordinal);
        result.Model.Dispose();
    }

    [Fact]
    public void The_trees_get_the_same_signals()
    {
        var data = Dataset(withSignals: true);
        var options = new GradientBoostedTreesOptions(Seed: 3, MaxIterations: 50);

        var withSignals = GradientBoostedTreesBaseline.FitChurn(data.Train, data.Validation, data.Vocabulary.Count, options with { Signals = data.Signals });
        var namesOnly = GradientBoostedTreesBaseline.FitChurn(data.Train, data.Validation, data.Vocabulary.Count, options);

        double Accuracy(Core.Evaluation.Baselines.IChurnBaseline baseline) =>
            data.Test.Zip(baseline.PredictChurnProbabilities(data.Test)).Count(p => (p.Second >= 0.5 ? 1 : 0) == p.First.Label) / (double)data.Test.Count;
        Assert.True(Accuracy(withSignals) > 0.95, $"trees with signals {Accuracy(withSignals):0.000}");
        Assert.True(Accuracy(namesOnly) < 0.7, $"trees, names only {Accuracy(namesOnly):0.000}");
    }
}
