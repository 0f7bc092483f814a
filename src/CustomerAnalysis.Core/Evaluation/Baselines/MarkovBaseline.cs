using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Evaluation.Baselines;

/// <summary>
/// Predicts the next event from the last one (order 1) or the last two (order 2) events of the input.
/// <list type="bullet">
/// <item>Fitted on exactly the task's pairs: (last input events → label) of each training example. Transitions
/// inside the inputs are not counted: a session's final event follows other patterns than its middle ones.</item>
/// <item>Probabilities are add-k smoothed counts (Laplace, k = 1, by default):
/// P(c | context) = (count(context → c) + k) / (count(context) + k · (V − 1)); &lt;PAD&gt; gets 0.</item>
/// <item>Back-off: a context never seen in training (or an input too short for it) falls back to the order-1 context,
/// then to the training label distribution (<see cref="MajorityClassBaseline"/>). Smoothing keeps unseen
/// continuations of a seen context possible but does not change which class ranks first.</item>
/// </list>
/// </summary>
public sealed class MarkovBaseline : INextEventBaseline
{
    private readonly int _vocabularySize;
    private readonly double _smoothing;
    private readonly ClassCounts _labels;
    private readonly Dictionary<int, ClassCounts> _afterLast = [];
    private readonly Dictionary<(int, int), ClassCounts> _afterLastTwo = [];

    private MarkovBaseline(int order, int vocabularySize, double smoothing)
    {
        Order = order;
        _vocabularySize = vocabularySize;
        _smoothing = smoothing;
        _labels = new ClassCounts(vocabularySize, FirstLabel);
    }

    // <PAD> is never a label.
    private const int FirstLabel = Vocabulary.Pad + 1;

    public int Order { get; }

    public string Name => Order == 1 ? "markov_order1" : "markov_order2";

    /// <param name="order">1: the last event; 2: the last two events, backing off to 1 and then to the label distribution.</param>
    public static MarkovBaseline Fit(
        IReadOnlyList<SequenceExample> train, int vocabularySize, int order, double smoothing = 1.0)
    {
        if (order is not (1 or 2))
            throw new ArgumentOutOfRangeException(nameof(order), order, "A Markov baseline has order 1 or 2.");
        BaselineChecks.RequireTraining(train, smoothing);
        var model = new MarkovBaseline(order, vocabularySize, smoothing);
        foreach (var example in train)
        {
            ClassCounts.CheckId(example.Label, vocabularySize, example, "label");
            foreach (var token in example.Tokens) ClassCounts.CheckId(token, vocabularySize, example, "token");
            model._labels.Add(example.Label);
            var tokens = example.Tokens;
            if (tokens.Length >= 1)
                model.CountsFor(model._afterLast, tokens[^1]).Add(example.Label);
            if (order == 2 && tokens.Length >= 2)
                model.CountsFor(model._afterLastTwo, (tokens[^2], tokens[^1])).Add(example.Label);
        }
        return model;
    }

    public float[] PredictScores(IReadOnlyList<SequenceExample> examples)
    {
        var scores = new float[examples.Count * _vocabularySize];
        for (var i = 0; i < examples.Count; i++)
            CountsUsedFor(examples[i].Tokens).Counts
                .WriteProbabilities(scores.AsSpan(i * _vocabularySize, _vocabularySize), _smoothing);
        return scores;
    }

    /// <summary>Which context predicts <paramref name="tokens"/>: 2, 1, or 0 for the label distribution.</summary>
    public int ContextOrderFor(int[] tokens) => CountsUsedFor(tokens).ContextOrder;

    private (ClassCounts Counts, int ContextOrder) CountsUsedFor(int[] tokens)
    {
        if (Order == 2 && tokens.Length >= 2 && _afterLastTwo.TryGetValue((tokens[^2], tokens[^1]), out var lastTwo))
            return (lastTwo, 2);
        if (tokens.Length >= 1 && _afterLast.TryGetValue(tokens[^1], out var last))
            return (last, 1);
        return (_labels, 0);
    }

    private ClassCounts CountsFor<TContext>(Dictionary<TContext, ClassCounts> table, TContext context)
        where TContext : notnull
    {
        if (!table.TryGetValue(context, out var counts))
            table[context] = counts = new ClassCounts(_vocabularySize, FirstLabel);
        return counts;
    }
}
