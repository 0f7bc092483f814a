using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Evaluation;
using CustomerAnalysis.Core.Evaluation.Baselines;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Baselines;

namespace CustomerAnalysis.Modeling.Tests.Baselines;

public sealed class GradientBoostedTreesBaselineTests
{
    // Small splits and few rounds: LightGBM on one thread stays well under a second per fit.
    private static readonly GradientBoostedTreesOptions Fast = new(MaxIterations: 60, LearningRate: 0.2, MinExamplesPerLeaf: 5);

    [Fact]
    public void Churn_trees_learn_the_rule_that_majority_cannot()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 400, validation: 100, test: 150);
        var labels = data.Test.Select(e => e.Label).ToArray();

        var trees = GradientBoostedTreesBaseline.FitChurn(data.Train, data.Validation, data.Vocabulary.Count, Fast);
        var treesReport = ChurnMetrics.Compute(labels, trees.PredictChurnProbabilities(data.Test), 0.5);
        var majority = ChurnMetrics.Compute(labels, MajorityClassBaseline.FitChurn(data.Train).PredictChurnProbabilities(data.Test), 0.5);

        Assert.Equal(GradientBoostedTreesBaseline.BaselineName, trees.Name);
        Assert.True(treesReport.Scalars[MetricNames.RocAuc] > 0.95, $"trees ROC-AUC {treesReport.Scalars[MetricNames.RocAuc]}");
        Assert.Equal(0.5, majority.Scalars[MetricNames.RocAuc], 12);
        Assert.True(treesReport.Scalars[MetricNames.Accuracy] > majority.Scalars[MetricNames.Accuracy] + 0.2);
    }

    [Fact]
    public void Next_event_trees_learn_the_cycle_that_majority_cannot()
    {
        var data = SyntheticSequences.Create(PredictionTask.Events, train: 400, validation: 100, test: 150);
        var labels = data.Test.Select(e => e.Label).ToArray();

        var trees = GradientBoostedTreesBaseline.FitNextEvent(data.Train, data.Validation, data.Vocabulary.Count, Fast);
        var scores = trees.PredictScores(data.Test);
        var treesReport = NextEventMetrics.Compute(labels, scores, data.Vocabulary.Tokens);
        var majority = NextEventMetrics.Compute(labels,
            MajorityClassBaseline.FitNextEvent(data.Train, data.Vocabulary.Count).PredictScores(data.Test), data.Vocabulary.Tokens);

        Assert.Equal(data.Test.Count * data.Vocabulary.Count, scores.Length);
        Assert.True(treesReport.Scalars[MetricNames.Top1Accuracy] > 0.95, $"trees top-1 {treesReport.Scalars[MetricNames.Top1Accuracy]}");
        Assert.True(majority.Scalars[MetricNames.Top1Accuracy] < 0.3);
    }

    [Fact]
    public void Time_gap_features_are_read_only_when_asked_for()
    {
        // Churned users are those with a pause over 30 minutes: nothing in the event names tells them apart.
        var random = new Random(3);
        IReadOnlyList<SequenceExample> Make(int count) => Enumerable.Range(0, count).Select(i =>
        {
            var tokens = Enumerable.Range(0, random.Next(3, 10)).Select(_ => 2 + random.Next(SyntheticSequences.EventKinds)).ToArray();
            var churned = random.Next(2);
            var gaps = tokens.Select((_, t) => t == 0 ? 0f : random.Next(1, 600)).ToArray();
            if (churned == 1) gaps[1 + random.Next(tokens.Length - 1)] = 3600 + random.Next(7200);
            return new SequenceExample($"u{i}", $"u{i}", tokens, gaps, churned);
        }).ToArray();
        var (train, validation, test) = (Make(400), Make(100), Make(200));
        double Auc(bool gaps) => ChurnTreesAuc(train, validation, test, gaps);

        Assert.True(Auc(gaps: true) > 0.98, $"with gaps {Auc(true)}");
        Assert.True(Auc(gaps: false) < 0.7, $"names only {Auc(false)}");
    }

    [Fact]
    public void Churn_trees_see_how_the_window_ends_not_only_what_it_holds()
    {
        // Both classes hold the same events and the same gaps, in another order: churned users end on event 3 after
        // the long pause, returned users end on event 2 with the pause first. Counts, span and gap statistics are
        // equal; only the last events, the last gaps and the first and last sessions tell the classes apart.
        var random = new Random(11);
        IReadOnlyList<SequenceExample> Make(int count) => Enumerable.Range(0, count).Select(i =>
        {
            var middle = Enumerable.Range(0, random.Next(3, 8)).Select(_ => 4 + random.Next(SyntheticSequences.EventKinds - 2)).ToArray();
            var shortGaps = middle.Select(_ => (float)random.Next(5, 300)).ToArray();
            var pause = 7200f + random.Next(3600);
            var churned = random.Next(2);
            int[] tokens = churned == 1 ? [.. middle, 2, 3] : [.. middle, 3, 2];
            float[] gaps = churned == 1 ? [0, .. shortGaps[1..], shortGaps[0], pause] : [0, pause, .. shortGaps[1..], shortGaps[0]];
            return new SequenceExample($"u{i}", $"u{i}", tokens, gaps, churned);
        }).ToArray();
        var (train, validation, test) = (Make(400), Make(100), Make(200));
        double Auc(bool gaps) => ChurnTreesAuc(train, validation, test, gaps);

        // The last events are names: the original protocol's trees see them too.
        Assert.True(Auc(gaps: false) > 0.98, $"names only {Auc(false)}");
        Assert.True(Auc(gaps: true) > 0.98, $"with gaps {Auc(true)}");
    }

    /// <summary>The test ROC-AUC of churn trees fitted with or without the gaps' features.</summary>
    private static double ChurnTreesAuc(IReadOnlyList<SequenceExample> train, IReadOnlyList<SequenceExample> validation,
        IReadOnlyList<SequenceExample> test, bool gaps) =>
        ChurnMetrics.Compute(test.Select(e => e.Label).ToArray(), GradientBoostedTreesBaseline
            .FitChurn(train, validation, SyntheticSequences.Vocabulary.Count, Fast with { UseTimeGaps = gaps })
            .PredictChurnProbabilities(test), 0.5).Scalars[MetricNames.RocAuc];

    [Fact]
    public void Churn_features_place_the_last_events_sessions_and_last_gaps()
    {
        // Tokens 2..5; sessions (gaps over 30 min start one): [2, 3] | [4] | [5, 3], the last lasting 100 s.
        var vocabulary = SyntheticSequences.Vocabulary.Count;
        var example = new SequenceExample("u", "u", [2, 3, 4, 5, 3], [0, 60, 4000, 30000, 100], 1);

        var row = TreeFeatures.Churn(example, vocabulary, useTimeGaps: true);
        var names = TreeFeatures.Churn(example, vocabulary, useTimeGaps: false);

        Assert.Equal(TreeFeatures.ChurnWidth(vocabulary, useTimeGaps: true), row.Length);
        Assert.Equal(TreeFeatures.ChurnWidth(vocabulary, useTimeGaps: false), names.Length);
        Assert.Equal(names, row[..names.Length]);
        // Counts, length, distinct names, then the last 3 events one-hot: 3, 5, 4.
        var lastEvents = vocabulary - 1 + 2;
        var oneHot = names[lastEvents..];
        Assert.Equal(TreeFeatures.ChurnLastEvents * vocabulary, oneHot.Length);
        Assert.Equal(3, oneHot.Sum());
        Assert.Equal(1, oneHot[3]);
        Assert.Equal(1, oneHot[vocabulary + 5]);
        Assert.Equal(1, oneHot[2 * vocabulary + 4]);
        // With gaps: sessions, span, mean, median, max, then first session (events, seconds), last session (events,
        // seconds), gaps over 1 h and over 6 h, then the last 5 gaps, the latest first (NaN past the first event).
        float[] expected = [3, 34160, 8540, 2050, 30000, 2, 60, 2, 100, 2, 1, 100, 30000, 4000, 60, float.NaN];
        Assert.Equal(expected, row[names.Length..]);
    }

    [Fact]
    public void The_same_seed_gives_the_same_predictions_for_both_tasks()
    {
        var churn = SyntheticSequences.Create(PredictionTask.Churn, train: 300, validation: 80, test: 80, seed: 5);
        double[] Churn(int seed) => GradientBoostedTreesBaseline
            .FitChurn(churn.Train, churn.Validation, churn.Vocabulary.Count, Fast with { Seed = seed })
            .PredictChurnProbabilities(churn.Test);
        Assert.Equal(Churn(7), Churn(7));

        var events = SyntheticSequences.Create(PredictionTask.Events, train: 300, validation: 80, test: 80, seed: 5);
        float[] Events(int seed) => GradientBoostedTreesBaseline
            .FitNextEvent(events.Train, events.Validation, events.Vocabulary.Count, Fast with { Seed = seed })
            .PredictScores(events.Test);
        Assert.Equal(Events(7), Events(7));
    }

    [Fact]
    public void Saved_trees_read_back_score_the_same_and_trees_of_another_width_are_refused_by_name()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 200, validation: 50, test: 50);
        var trees = GradientBoostedTreesBaseline.FitChurn(data.Train, data.Validation, data.Vocabulary.Count, Fast);
        using var saved = new MemoryStream();
        GradientBoostedTreesBaseline.Save(trees, saved);

        saved.Position = 0;
        var read = GradientBoostedTreesBaseline.LoadChurn(saved, data.Vocabulary.Count, Fast);
        Assert.Equal(trees.PredictChurnProbabilities(data.Test), read.PredictChurnProbabilities(data.Test));

        // Names only: fewer features per example than the trees were fitted on, as after a change of TreeFeatures.
        saved.Position = 0;
        var error = Assert.Throws<InvalidInputException>(() =>
            GradientBoostedTreesBaseline.LoadChurn(saved, data.Vocabulary.Count, Fast with { UseTimeGaps = false }));
        Assert.Contains($"read {TreeFeatures.ChurnWidth(data.Vocabulary.Count, useTimeGaps: true)} features per example", error.Message);
        Assert.Contains("train the model again", error.Message);
    }

    /// <summary>Churn trees saved by the version before the window-end columns (commit 05b366c: fitted there on
    /// these synthetic sequences with <see cref="Fast"/>; the fixture holds the zip and its test probabilities)
    /// still read and score as they did, so a stored blended churn model keeps serving after the upgrade.</summary>
    [Fact]
    public void Churn_trees_saved_before_the_window_end_columns_score_as_they_did()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 200, validation: 50, test: 50);
        var assembly = typeof(GradientBoostedTreesBaselineTests).Assembly;
        using var saved = assembly.GetManifestResourceStream("churn-trees-first-layout.zip")!;
        using var expectedText = new StreamReader(assembly.GetManifestResourceStream("churn-trees-first-layout.txt")!);
        var expected = expectedText.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => double.Parse(line, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var read = GradientBoostedTreesBaseline.LoadChurn(saved, data.Vocabulary.Count, Fast);

        Assert.Equal(expected, read.PredictChurnProbabilities(data.Test));
        Assert.Contains(expected, p => p > 0.5);
        Assert.Contains(expected, p => p < 0.5);
    }

    [Fact]
    public void A_training_split_of_one_class_is_refused_by_name()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 50, validation: 10, test: 10);
        var oneClass = data.Train.Select(e => e with { Label = 0 }).ToArray();
        var error = Assert.Throws<InvalidInputException>(() =>
            GradientBoostedTreesBaseline.FitChurn(oneClass, data.Validation, data.Vocabulary.Count, Fast));
        Assert.Contains("both churned and returned", error.Message);
    }

    [Fact]
    public void The_suite_lists_the_trees_after_its_own_baselines_and_refuses_a_name_twice()
    {
        var data = SyntheticSequences.Create(PredictionTask.Churn, train: 200, validation: 50, test: 50);
        var trees = GradientBoostedTreesBaseline.FitChurn(data.Train, data.Validation, data.Vocabulary.Count, Fast);

        var reports = BaselineSuite.Evaluate(data.Train, data.Test, data.Vocabulary, PredictionTask.Churn, extraChurn: [trees]);

        Assert.Equal([MajorityClassBaseline.BaselineName, LogisticRegressionBaseline.BaselineName, GradientBoostedTreesBaseline.BaselineName],
            reports.Keys);
        Assert.Throws<ArgumentException>(() => BaselineSuite.FitChurn(data.Train, data.Vocabulary.Count, [trees, trees]));
    }
}
