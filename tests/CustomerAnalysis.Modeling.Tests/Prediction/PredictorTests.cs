using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Prediction;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Prediction;

public class PredictorTests
{
    private static Predictor Trained(PredictionTask task, string init = "")
    {
        var data = SyntheticSequences.Create(task, train: 400, validation: 100, test: 10);
        var config = SyntheticSequences.Config("rnn", task,
            init: "\"hidden_size\": 16, \"dropout_rate\": 0, \"max_sequence_length\": 6" + (init.Length > 0 ? ", " + init : ""),
            training: "\"num_epochs\": 15, \"learning_rate\": 0.02");
        var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, new TrainingRun(1, 3));
        using var stream = new MemoryStream();
        ModelCheckpoint.FromTraining(result, data.Vocabulary).Write(stream);
        result.Model.Dispose();
        stream.Position = 0;
        return Predictor.Load(stream);
    }

    [Fact]
    public void A_predictor_puts_its_model_in_inference_mode_once_at_load()
    {
        using var predictor = Trained(PredictionTask.Events);
        predictor.Checkpoint.Model.train(); // as a caller holding the model might leave it
        var again = new Predictor(predictor.Checkpoint); // shares the model: disposed once, by predictor
        Assert.False(again.Checkpoint.Model.training);

        string[] session = ["event_0", "event_1", "event_2"];
        var first = again.Predict([session], top: 3)[0];
        var second = again.Predict([session], top: 3)[0];
        Assert.Equal(first.TopEvents, second.TopEvents);
        Assert.Equal(first.Attention, second.Attention);
    }

    [Fact]
    public void Next_event_predictions_come_ranked_with_attention_aligned_to_the_input()
    {
        using var predictor = Trained(PredictionTask.Events);
        string[] longSession = ["event_0", "event_1", "event_2", "event_3", "event_4", "event_5", "event_6", "event_3"];
        string[] withUnknown = ["never_seen_event", "event_6"];

        var predictions = predictor.Predict([longSession, withUnknown], top: 3);

        Assert.Equal(2, predictions.Count);
        Assert.Equal("event_4", predictions[0].TopEvents[0].Event); // event_3 → event_4
        Assert.Equal("event_7", predictions[1].TopEvents[0].Event);
        foreach (var prediction in predictions)
        {
            Assert.Equal(3, prediction.TopEvents.Count);
            Assert.True(prediction.TopEvents.Zip(prediction.TopEvents.Skip(1)).All(p => p.First.Probability >= p.Second.Probability));
            Assert.DoesNotContain(prediction.TopEvents, e => e.Event == Vocabulary.PadToken);
            Assert.Null(prediction.ChurnProbability);
        }
        // The limit is 6 events: the first 2 of the long session are dropped and get no attention.
        Assert.Equal(longSession.Length, predictions[0].Attention.Count);
        Assert.Equal([0.0, 0.0], predictions[0].Attention.Take(2));
        Assert.Equal(1.0, predictions[0].Attention.Sum(), 4);
        Assert.Equal(2, predictions[1].Attention.Count);
    }

    [Fact]
    public void Churn_predictions_give_a_probability_and_a_decision()
    {
        using var predictor = Trained(PredictionTask.Churn, "\"attention_type\": \"multi-head\", \"num_heads\": 2");
        var predictions = predictor.Predict([["event_3", "event_0", "event_5"], ["event_3", "event_5"]], top: 1);

        Assert.True(predictions[0].ChurnProbability > 0.5, $"contains event_0: {predictions[0].ChurnProbability}");
        Assert.True(predictions[1].ChurnProbability < 0.5, $"no event_0: {predictions[1].ChurnProbability}");
        Assert.Equal([true, false], predictions.Select(p => p.Churns!.Value));
        Assert.Empty(predictions[0].TopEvents);
        Assert.Equal(2, predictions[0].AttentionByHead.Count);
    }

    [Fact]
    public void Empty_sessions_and_missing_time_gaps_are_input_errors()
    {
        using var predictor = Trained(PredictionTask.Events, "\"use_time_gaps\": true");
        Assert.Throws<InvalidInputException>(() => predictor.Predict([Array.Empty<string>()], top: 1));
        var error = Assert.Throws<InvalidInputException>(() => predictor.Predict([["event_1"]], top: 1));
        Assert.Contains("use_time_gaps", error.Message);
        var ok = predictor.Predict([new SessionInput(["event_1", "event_2"], [0, 12])], top: 2);
        Assert.Equal(2, ok[0].TopEvents.Count);
    }

    [Fact]
    public void Churn_probabilities_are_served_through_the_checkpoints_calibration()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 200, validation: 60, test: 10);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Churn, init: "\"hidden_size\": 8, \"max_sequence_length\": 6",
            training: "\"num_epochs\": 2");
        var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, new TrainingRun(1, 3));
        var fitted = ModelCheckpoint.FromTraining(result, data.Vocabulary);
        Assert.False(fitted.ChurnCalibration.IsIdentity);

        // Slope 0 ignores the model: every user gets σ(intercept) = 0.3, below the 0.5 threshold.
        var constant = new ModelCheckpoint(fitted.Config, fitted.Vocabulary, fitted.Model, churnCalibration: new PlattScaling(0, Math.Log(0.3 / 0.7)));
        using var stream = new MemoryStream();
        constant.Write(stream);
        result.Model.Dispose();
        stream.Position = 0;
        using var predictor = Predictor.Load(stream);
        var predictions = predictor.Predict([["event_3", "event_0", "event_5"], ["event_3", "event_5"]], top: 1);

        Assert.Equal<ProbabilityCalibration>(new PlattScaling(0, Math.Log(0.3 / 0.7)), predictor.Checkpoint.ChurnCalibration);
        Assert.All(predictions, p => Assert.Equal(0.3, p.ChurnProbability!.Value, 6));
        Assert.All(predictions, p => Assert.False(p.Churns));
    }

    [Theory]
    [InlineData("beta")]
    [InlineData("isotonic")]
    public void The_configured_calibration_is_fitted_stored_and_served_as_the_test_evaluation_scores_it(string method)
    {
        // Trained enough that its scores order the users (else no increasing beta map fits and Platt's is kept).
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 400, validation: 100, test: 12);
        var config = SyntheticSequences.Config("rnn", PredictionTask.Churn, init: "\"hidden_size\": 16, \"dropout_rate\": 0, \"max_sequence_length\": 6",
            training: "\"num_epochs\": 15, \"learning_rate\": 0.02", pipeline: $"\"churn_calibration\": \"{method}\"");
        var result = Trainer.Train(data, config, SyntheticSequences.AccuracyMetric, new TrainingRun(1, 3));
        var fitted = ModelCheckpoint.FromTraining(result, data.Vocabulary);
        Assert.Equal(CalibrationMethods.Parse(method), fitted.ChurnCalibration.Method);
        using var stream = new MemoryStream();
        fitted.Write(stream);
        result.Model.Dispose();
        stream.Position = 0;
        using var predictor = Predictor.Load(stream);
        Assert.Equal(fitted.ChurnCalibration, predictor.Checkpoint.ChurnCalibration);

        // The test evaluation's path (TestEvaluator: the model's probabilities through CalibratedChurn) and the API's.
        var evaluated = predictor.Checkpoint.CalibratedChurn(Trainer.Predict(predictor.Checkpoint.Model, data.Test, 6, 32));
        var served = predictor.Predict(data.Test.Select(e => (IReadOnlyList<string>)e.Tokens.Select(t => data.Vocabulary.Tokens[t]).ToArray()).ToArray(), top: 1);
        for (var i = 0; i < data.Test.Count; i++)
            Assert.Equal(evaluated.Probabilities[i], served[i].ChurnProbability!.Value, 5);
        Assert.NotEqual(Trainer.Predict(predictor.Checkpoint.Model, data.Test, 6, 32).Probabilities, evaluated.Probabilities);
    }
}
