using CustomerAnalysis.Modeling.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Training;

/// <summary>
/// Adam and AdamW, the same arithmetic as TorchSharp's optimizers (and their factory defaults: β1 0.9, β2 0.999,
/// ε 1e-8), written here because TorchSharp's step passes <see cref="Scalar"/> temporaries (<c>value: -step_size</c>)
/// straight into native calls. A Scalar is a finalizable native handle that nothing keeps alive during the call:
/// when another thread's allocations start a GC mid-call (parallel trials), the finalizer frees the Scalar while
/// libtorch reads it — "Expected false to be true ... toFloat at Scalar.h" in <c>addcdiv_</c>, or a crash. Every
/// Scalar here is disposed after the call that uses it, which keeps it alive until then.
/// </summary>
public sealed class AdamOptimizer : IDisposable
{
    public const double Beta1 = 0.9;
    public const double Beta2 = 0.999;
    public const double Epsilon = 1e-8;

    private readonly Parameter[] _parameters;
    private readonly Tensor?[] _average;
    private readonly Tensor?[] _averageSquare;
    private readonly long[] _steps;
    private readonly double _learningRate;
    private readonly double _weightDecay;
    private readonly bool _decoupled;
    private readonly Scalar _beta1 = Beta1.ToScalar();
    private readonly Scalar _oneMinusBeta1 = (1 - Beta1).ToScalar();
    private readonly Scalar _beta2 = Beta2.ToScalar();
    private readonly Scalar _oneMinusBeta2 = (1 - Beta2).ToScalar();
    private readonly Scalar _epsilon = Epsilon.ToScalar();
    private readonly Scalar _weightDecayScalar;
    private readonly Scalar _decayFactor;

    /// <param name="decoupled">AdamW (weights shrink by lr × weight decay each step) rather than Adam (weight decay
    /// added to the gradient, an L2 penalty).</param>
    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate, double weightDecay, bool decoupled)
    {
        // NaN fails every comparison: these reject it too, before it reaches a native conversion.
        if (!(learningRate > 0) || double.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive number.");
        if (!(weightDecay >= 0) || double.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "The weight decay must be a number ≥ 0.");
        _parameters = parameters.ToArray();
        _average = new Tensor?[_parameters.Length];
        _averageSquare = new Tensor?[_parameters.Length];
        _steps = new long[_parameters.Length];
        (_learningRate, _weightDecay, _decoupled) = (learningRate, weightDecay, decoupled);
        _weightDecayScalar = weightDecay.ToScalar();
        _decayFactor = (1 - learningRate * weightDecay).ToScalar();
    }

    public void ZeroGrad()
    {
        foreach (var parameter in _parameters)
        {
            using var grad = parameter.grad;
            grad?.zero_();
        }
    }

    public void Step()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (var i = 0; i < _parameters.Length; i++)
        {
            var parameter = _parameters[i];
            var grad = parameter.grad;
            if (grad is null) continue;
            var step = ++_steps[i];
            var average = _average[i] ??= torch.zeros_like(parameter).DetachFromDisposeScope();
            var averageSquare = _averageSquare[i] ??= torch.zeros_like(parameter).DetachFromDisposeScope();

            if (_decoupled) parameter.mul_(_decayFactor);
            else if (_weightDecay != 0) grad = grad.add(parameter, alpha: _weightDecayScalar);

            var biasCorrection1 = 1 - Math.Pow(Beta1, step);
            var biasCorrection2 = 1 - Math.Pow(Beta2, step);
            average.mul_(_beta1).add_(grad, alpha: _oneMinusBeta1);
            averageSquare.mul_(_beta2).addcmul_(grad, grad, value: _oneMinusBeta2);
            using var root = Math.Sqrt(biasCorrection2).ToScalar();
            // add_(Scalar) alone passes a temporary alpha = 1: give it one that lives.
            var denominator = averageSquare.sqrt().div_(root).add_(_epsilon, TorchScalars.One);
            using var stepSize = (-_learningRate / biasCorrection1).ToScalar();
            parameter.addcdiv_(average, denominator, value: stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var tensor in _average.Concat(_averageSquare)) tensor?.Dispose();
        foreach (var scalar in new[] { _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _epsilon, _weightDecayScalar, _decayFactor })
            scalar.Dispose();
    }
}
