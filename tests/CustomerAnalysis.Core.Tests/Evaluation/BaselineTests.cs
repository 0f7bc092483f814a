using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Evaluation.Baselines;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Tests.Evaluation;

public class BaselineTests
{
    // Token ids: 0 <PAD>, 1 <UNK>, 2 a, 3 b, 4 c.
    private const int A = 2, B = 3, C = 4;
    private static readonly Vocabulary Vocab = new(["<PAD>", "<UNK>", "a", "b", "c"]);

    private static int _nextId;

    private static SequenceExample Example(int label, params int[] tokens) =>
        new($"s{_nextId++}", "u", tokens, new float[tokens.Length], label);

    // After a always b; after b: c if a came before it, a if c came before it; after c always a.
    private static readonly SequenceExample[] Train =
    [
        Example(B, A), Example(B, C, A), Example(B, B, A),
        Example(C, A, B), Example(C, A, B),
        Example(A, C, B),
        Example(A, C),
    ];

    [Fact]
    public void Majority_class_gives_everyone_the_smoothed_label_distribution()
    {
        var baseline = MajorityClassBaseline.FitNextEvent(Train, Vocab.Count);
        var scores = baseline.PredictScores([Example(A, C), Example(C)]);

        // Labels: b 3, c 2, a 2 of 7; add-1 over the 4 non-pad classes: (count + 1) / 11.
        float[] expected = [0, 1f / 11, 3f / 11, 4f / 11, 3f / 11];
        Assert.Equal(expected, scores[..5], new ToleranceComparer(1e-6f));
        Assert.Equal(expected, scores[5..], new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void Markov_order1_learns_the_last_event_rule_exactly()
    {
        var baseline = MarkovBaseline.Fit(Train, Vocab.Count, order: 1);
        SequenceExample[] evaluation = [Example(B, C, A), Example(A, C)];
        var scores = baseline.PredictScores(evaluation);

        // After a: b 3 times of 3 → (3 + 1) / (3 + 4) = 4/7; every other non-pad class 1/7.
        Assert.Equal([0, 1f / 7, 1f / 7, 4f / 7, 1f / 7], scores[..5], new ToleranceComparer(1e-6f));
        var report = NextEventMetrics.Compute(evaluation.Select(e => e.Label).ToArray(), scores, Vocab.Tokens);
        Assert.Equal(1.0, report.Scalars["accuracy"]);
    }

    [Fact]
    public void Markov_order2_uses_the_last_two_events_where_order1_cannot()
    {
        // After b alone: c twice, a once → order 1 says c for both; order 2 knows (c, b) → a.
        SequenceExample[] evaluation = [Example(C, A, B), Example(A, C, B)];
        var labels = evaluation.Select(e => e.Label).ToArray();

        var order1 = MarkovBaseline.Fit(Train, Vocab.Count, order: 1);
        var order2 = MarkovBaseline.Fit(Train, Vocab.Count, order: 2);

        Assert.Equal(0.5, NextEventMetrics.Compute(labels, order1.PredictScores(evaluation), Vocab.Tokens).Scalars["accuracy"]);
        Assert.Equal(1.0, NextEventMetrics.Compute(labels, order2.PredictScores(evaluation), Vocab.Tokens).Scalars["accuracy"]);
    }

    [Fact]
    public void Markov_order2_backs_off_to_order1_then_to_the_label_distribution()
    {
        var order2 = MarkovBaseline.Fit(Train, Vocab.Count, order: 2);

        Assert.Equal(2, order2.ContextOrderFor([A, B]));
        Assert.Equal(1, order2.ContextOrderFor([B, B]));   // (b, b) never seen; b was
        Assert.Equal(1, order2.ContextOrderFor([A]));      // too short for order 2
        Assert.Equal(0, order2.ContextOrderFor([A, Vocabulary.Unk]));
        Assert.Equal(0, order2.ContextOrderFor([]));

        var majority = MajorityClassBaseline.FitNextEvent(Train, Vocab.Count);
        var unseen = Example(A, Vocabulary.Unk);
        Assert.Equal(majority.PredictScores([unseen]), order2.PredictScores([unseen]));
    }

    [Fact]
    public void Churn_majority_predicts_the_smoothed_training_churn_rate()
    {
        SequenceExample[] train = [Example(1, A), Example(1, B), Example(1, C), Example(0, A)];
        var baseline = MajorityClassBaseline.FitChurn(train);

        // (3 + 1) / (4 + 2)
        Assert.Equal([2.0 / 3, 2.0 / 3], baseline.PredictChurnProbabilities([Example(0, A), Example(1, B)]), new ToleranceComparer(1e-6));
        Assert.Throws<InvalidOperationException>(() =>
            MajorityClassBaseline.FitNextEvent(Train, Vocab.Count).PredictChurnProbabilities(train));
    }

    [Fact]
    public void Logistic_regression_with_constant_features_predicts_the_churn_rate()
    {
        // Every input is identical, so only the (unpenalized) intercept can fit: p = 3/4 exactly.
        SequenceExample[] train = [Example(1, A, B), Example(1, A, B), Example(1, A, B), Example(0, A, B)];
        var baseline = LogisticRegressionBaseline.Fit(train, Vocab.Count);

        Assert.Equal(0.75, baseline.PredictChurnProbabilities([Example(0, A, B)])[0], 9);
        Assert.Equal(Math.Log(3), baseline.Intercept, 9);   // logit(3/4)
    }

    [Fact]
    public void Logistic_regression_learns_which_event_signals_churn()
    {
        // Churned users have c in their window, returned users never do; lengths overlap.
        SequenceExample[] train =
        [
            Example(1, C), Example(1, A, C), Example(1, C, B, A), Example(1, B, C),
            Example(0, A), Example(0, A, B), Example(0, B, B, A), Example(0, B),
        ];
        var baseline = LogisticRegressionBaseline.Fit(train, Vocab.Count);
        SequenceExample[] evaluation = [Example(1, A, A, C), Example(0, A, A, B)];
        var probabilities = baseline.PredictChurnProbabilities(evaluation);

        Assert.True(probabilities[0] > 0.5, $"churned user got {probabilities[0]}");
        Assert.True(probabilities[1] < 0.5, $"returned user got {probabilities[1]}");
        // The weight of c (feature index c − 1) is the largest: it alone separates the labels.
        var weights = baseline.FeatureWeights;
        Assert.Equal(C - 1, Enumerable.Range(0, weights.Count).MaxBy(j => weights[j]));
        // At the optimum the unpenalized intercept makes the mean training probability equal the churn rate.
        Assert.Equal(0.5, baseline.PredictChurnProbabilities(train).Average(), 6);
    }

    [Fact]
    public void Logistic_regression_is_deterministic()
    {
        SequenceExample[] train = [Example(1, C, A), Example(0, A, A), Example(1, B, C), Example(0, B), Example(1, A)];

        Assert.Equal(LogisticRegressionBaseline.Fit(train, Vocab.Count).FeatureWeights,
            LogisticRegressionBaseline.Fit(train, Vocab.Count).FeatureWeights);
    }

    [Fact]
    public void Logistic_regression_needs_both_labels_in_training()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            LogisticRegressionBaseline.Fit([Example(1, A), Example(1, B)], Vocab.Count));

        Assert.Contains("both churned and returned users", error.Message);
    }

    [Fact]
    public void Bad_training_data_names_the_example()
    {
        var badToken = new SequenceExample("session-9", "u", [A, 7], new float[2], B);

        var error = Assert.Throws<InvalidInputException>(() => MarkovBaseline.Fit([badToken], Vocab.Count, order: 1));
        Assert.Contains("'session-9' has token 7", error.Message);
        Assert.Throws<InvalidInputException>(() => MajorityClassBaseline.FitNextEvent([], Vocab.Count));
    }

    [Fact]
    public void Suite_reports_every_next_event_baseline_on_the_evaluation_split()
    {
        SequenceExample[] evaluation = [Example(C, A, B), Example(A, C, B), Example(B, A)];

        var reports = BaselineSuite.Evaluate(Train, evaluation, Vocab, PredictionTask.Events);

        Assert.Equal(["majority_class", "markov_order1", "markov_order2"], reports.Keys);
        // Majority says b for all: right once. Order 1 misses (c, b) → a. Order 2 gets all three.
        Assert.Equal(1.0 / 3, reports["majority_class"].Scalars["accuracy"], 10);
        Assert.Equal(2.0 / 3, reports["markov_order1"].Scalars["accuracy"], 10);
        Assert.Equal(1.0, reports["markov_order2"].Scalars["accuracy"], 10);
        Assert.IsType<NextEventReport>(reports["markov_order2"]);
    }

    [Fact]
    public void Suite_reports_churn_baselines_at_the_given_threshold()
    {
        SequenceExample[] train = [Example(1, C), Example(1, A, C), Example(0, A), Example(0, A, B), Example(1, C, C)];
        SequenceExample[] evaluation = [Example(1, C, B), Example(0, B, A)];

        var reports = BaselineSuite.Evaluate(train, evaluation, Vocab, PredictionTask.Churn, churnThreshold: 0.5);

        Assert.Equal(["majority_class", "logistic_regression"], reports.Keys);
        Assert.Equal(0.5, reports["majority_class"].Scalars["roc_auc"]);        // one constant probability
        Assert.Equal(1.0, reports["logistic_regression"].Scalars["roc_auc"]);
        Assert.Equal(0.5, ((ChurnReport)reports["majority_class"]).Threshold);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<float>, IEqualityComparer<double>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
        public int GetHashCode(double obj) => 0;
    }
}
