using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Baselines;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Models;

/// <summary>
/// The wide part of a wide-and-deep model (<c>model_init_params.aggregate_features: "trees"</c>): per example the
/// gradient-boosted-trees baseline's feature row (<see cref="TreeFeatures.Row"/>: the same function, so the trees
/// and the model see the same aggregates), computed on the whole input (as the trees do, before the length limit),
/// mapped by sign(x)·ln(1 + |x|) (counts, lengths and seconds are heavy-tailed), standardized with the training
/// split's mean and deviation (<see cref="Fit"/>; buffers, so they travel in the checkpoint's weights) and missing
/// values (NaN: e.g. no gap) set to 0, the training mean, and bounded to ±<see cref="Bound"/>. The model
/// concatenates the result to its pooled state before the output layer.
/// </summary>
public sealed class AggregateScaler : nn.Module
{
    // Buffers (RegisterComponents registers Tensor fields as buffers): in the state dict, so saved and loaded with
    // the weights. Read through get_buffer in Forward, which follows a move to another device.
    private readonly Tensor mean;
    private readonly Tensor scale;
    private readonly Scalar _zero = 0.ToScalar();
    // A rare category's one-hot standardizes to about 1/√share (30 for 1 in 1,000): bounded, so that a handful of
    // training examples cannot dominate the head.
    public const float Bound = 5;
    private readonly Scalar _low = (-Bound).ToScalar();
    private readonly Scalar _high = Bound.ToScalar();
    private readonly bool _useTimeGaps;

    internal AggregateScaler(PredictionTask task, int vocabularySize, bool useTimeGaps, SignalEncoding? signals) : base(nameof(AggregateScaler))
    {
        Task = task;
        VocabularySize = vocabularySize;
        _useTimeGaps = useTimeGaps;
        Signals = signals;
        Width = TreeFeatures.Width(task, vocabularySize, useTimeGaps, signals);
        mean = torch.zeros(Width);
        scale = torch.ones(Width);
        RegisterComponents();
    }

    public PredictionTask Task { get; }
    public int VocabularySize { get; }
    public SignalEncoding? Signals { get; }
    /// <summary>Columns per example.</summary>
    public int Width { get; }

    /// <summary>The raw rows of <paramref name="examples"/> (by <paramref name="indices"/>, all when null), [rows × <see cref="Width"/>].</summary>
    public float[] Rows(IReadOnlyList<SequenceExample> examples, IReadOnlyList<int>? indices = null)
    {
        var count = indices?.Count ?? examples.Count;
        var rows = new float[count * Width];
        for (var r = 0; r < count; r++)
        {
            var row = TreeFeatures.Row(examples[indices?[r] ?? r], Task, VocabularySize, _useTimeGaps, Signals);
            row.CopyTo(rows, r * Width);
        }
        return rows;
    }

    /// <summary>The raw rows as a [rows, <see cref="Width"/>] tensor on <paramref name="device"/> (what a batch carries).</summary>
    public Tensor RowTensor(IReadOnlyList<SequenceExample> examples, IReadOnlyList<int>? indices, Device device) =>
        torch.tensor(Rows(examples, indices), [indices?.Count ?? examples.Count, Width], ScalarType.Float32, device);

    /// <summary>Sets the mean and deviation per column of the mapped rows of <paramref name="train"/> (missing values
    /// left out; a column without values or without spread keeps mean 0 / scale 1).</summary>
    public void Fit(IReadOnlyList<SequenceExample> train)
    {
        var sum = new double[Width];
        var sumSquares = new double[Width];
        var count = new long[Width];
        foreach (var example in train)
        {
            var row = TreeFeatures.Row(example, Task, VocabularySize, _useTimeGaps, Signals);
            for (var c = 0; c < Width; c++)
            {
                if (float.IsNaN(row[c])) continue;
                var x = Map(row[c]);
                sum[c] += x;
                sumSquares[c] += x * x;
                count[c]++;
            }
        }
        var means = new float[Width];
        var scales = new float[Width];
        for (var c = 0; c < Width; c++)
        {
            if (count[c] == 0) { scales[c] = 1; continue; }
            var m = sum[c] / count[c];
            var deviation = Math.Sqrt(Math.Max(0, sumSquares[c] / count[c] - m * m));
            means[c] = (float)m;
            scales[c] = deviation > 1e-6 ? (float)(1 / deviation) : 1;
        }
        using var noGrad = torch.no_grad();
        var meanBuffer = get_buffer(nameof(mean))!;
        var scaleBuffer = get_buffer(nameof(scale))!;
        using var meanValues = torch.tensor(means, ScalarType.Float32, meanBuffer.device);
        using var scaleValues = torch.tensor(scales, ScalarType.Float32, scaleBuffer.device);
        meanBuffer.copy_(meanValues);
        scaleBuffer.copy_(scaleValues);
    }

    /// <summary>The fitted mean and scale (1 / deviation) per column, for inspection.</summary>
    public (float[] Mean, float[] Scale) Parameters() =>
        (get_buffer(nameof(mean))!.cpu().data<float>().ToArray(), get_buffer(nameof(scale))!.cpu().data<float>().ToArray());

    /// <param name="raw">[batch, <see cref="Width"/>] raw rows (<see cref="RowTensor"/>).</param>
    /// <returns>[batch, <see cref="Width"/>]: mapped, standardized, missing = 0.</returns>
    public Tensor Forward(Tensor raw)
    {
        if (raw.ndim != 2 || raw.shape[1] != Width)
            throw new ArgumentException($"Aggregates of shape [{string.Join(", ", raw.shape)}]; the model takes [batch, {Width}].", nameof(raw));
        var mapped = raw.sign().mul(raw.abs().log1p());
        var standardized = mapped.sub(get_buffer(nameof(mean))!).mul(get_buffer(nameof(scale))!);
        return standardized.masked_fill(standardized.isnan(), _zero).clamp(_low, _high);
    }

    private static double Map(float x) => Math.Sign(x) * Math.Log(1 + Math.Abs((double)x));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _zero.Dispose();
            _low.Dispose();
            _high.Dispose();
        }
        base.Dispose(disposing);
    }
}
