using CustomerAnalysis.Modeling.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Tests.Training;

/// <summary>The hand-written Adam/AdamW (Scalars kept alive, see <see cref="AdamOptimizer"/>) takes the same steps as
/// TorchSharp's optimizers with the settings the trainer used before.</summary>
public class AdamOptimizerTests
{
    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(false, 0.05)]
    [InlineData(true, 0.0)]
    [InlineData(true, 0.05)]
    public void Steps_match_torchsharps_optimizer(bool decoupled, double weightDecay)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var ours = nn.Linear(5, 3);
        var theirs = nn.Linear(5, 3);
        theirs.load_state_dict(ours.state_dict());
        using var optimizer = new AdamOptimizer(ours.parameters(), 0.01, weightDecay, decoupled);
        using var reference = decoupled
            ? (optim.Optimizer)optim.AdamW(theirs.parameters(), 0.01, weight_decay: weightDecay)
            : optim.Adam(theirs.parameters(), 0.01, weight_decay: weightDecay);
        var input = torch.randn(8, 5);

        for (var step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            ours.forward(input).square().sum().backward();
            optimizer.Step();
            reference.zero_grad();
            theirs.forward(input).square().sum().backward();
            reference.step();
        }

        Assert.True(ours.weight!.allclose(theirs.weight!, rtol: 1e-5, atol: 1e-7));
        Assert.True(ours.bias!.allclose(theirs.bias!, rtol: 1e-5, atol: 1e-7));
        Assert.False(ours.weight!.allclose(nn.Linear(5, 3).weight!)); // it did move
    }

    [Theory]
    [InlineData(double.NaN, 0)]
    [InlineData(double.PositiveInfinity, 0)]
    [InlineData(0.0, 0)]
    [InlineData(0.01, double.NaN)]
    [InlineData(0.01, -1)]
    public void Rates_that_a_native_conversion_would_choke_on_are_refused(double learningRate, double weightDecay)
    {
        using var linear = nn.Linear(2, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamOptimizer(linear.parameters(), learningRate, weightDecay, decoupled: true));
    }
}
