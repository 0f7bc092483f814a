using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Experiments;
using CustomerAnalysis.Modeling.Prediction;

namespace CustomerAnalysis.Modeling.Tests.Prediction;

/// <summary>The served-equals-evaluated check the checkpoint tests share: the test split sent as a client sends it
/// (names and gaps), and the predictor's answers compared with the test evaluation's predictions.</summary>
internal static class ServedAnswers
{
    /// <summary>The test split as the predictor's requests: names and gaps.</summary>
    public static SessionInput[] Requests(PreparedDataset data) => data.Test
        .Select(e => new SessionInput(e.Tokens.Select(data.Vocabulary.Decode).ToArray(), e.GapSeconds.Select(g => (double)g).ToArray()))
        .ToArray();

    /// <summary>Asserts the predictor answers every test example with the evaluation's probabilities (5 digits).</summary>
    public static void AssertServedAsEvaluated(Predictor predictor, PreparedDataset data, TestEvaluation evaluation, PredictionTask task)
    {
        var served = predictor.Predict(Requests(data), top: data.Vocabulary.Count - 1);
        var evaluated = evaluation.ModelPredictions;
        for (var i = 0; i < data.Test.Count; i++)
        {
            if (task == PredictionTask.Churn)
            {
                Assert.Equal(evaluated.Probabilities[i], served[i].ChurnProbability!.Value, 5);
                continue;
            }
            var row = evaluated.Row(i);
            foreach (var e in served[i].TopEvents)
                Assert.Equal(row[data.Vocabulary.Encode(e.Event)], e.Probability, 5);
        }
    }
}
