using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Models;

/// <summary>
/// Scalars that live as long as the process. A number passed where TorchSharp takes a <see cref="Scalar"/> becomes a
/// temporary native handle that nothing keeps alive during the native call: a GC started by another thread (parallel
/// trials, concurrent predictions) can finalize it while libtorch still reads it. So model code never passes a bare
/// number to a Scalar parameter: it passes one of these, a Scalar field of its module, or a <c>using</c> local; and it
/// never uses the tensor <c>+</c>/<c>-</c> operators, which pass a temporary <c>alpha = 1</c>: <see cref="Plus"/>.
/// </summary>
internal static class TorchScalars
{
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();

    /// <summary><paramref name="left"/> + <paramref name="right"/>, with an alpha that stays alive.</summary>
    public static Tensor Plus(this Tensor left, Tensor right) => left.add(right, One);
}
