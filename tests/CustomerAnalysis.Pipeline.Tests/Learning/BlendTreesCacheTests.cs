using System.Text.Json;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Learning;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Tests;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Tests.Learning;

/// <summary><c>combine_with_trees: "blend"</c> in the trial runner (real TorchSharp trials, real LightGBM trees): the
/// trees are fitted once per dataset and trees options, not once per trial, and a trial blends with them exactly as
/// with trees fitted for it alone.</summary>
public sealed class BlendTreesCacheTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ca-blend-trees-").FullName;
    private readonly PreparedDataset _data = SyntheticSequences.Create(PredictionTask.Churn, train: 300, validation: 100, test: 40, seed: 4);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Config(string pipeline) => SyntheticSequences.Config("rnn", PredictionTask.Churn,
        init: "\"hidden_size\": 8, \"use_time_gaps\": true, \"max_sequence_length\": 6",
        training: "\"num_epochs\": 1, \"learning_rate\": 0.01", pipeline: pipeline).ToJson();

    private static readonly string Blend = Config("\"combine_with_trees\": \"blend\"");

    /// <summary>Runs one trial and reads back the checkpoint it wrote.</summary>
    private async Task<ModelCheckpoint> RunAsync(TorchTrialRunner runner, PreparedDataset data, string config, string trialId,
        string setting, object value)
    {
        var directory = Directory.CreateDirectory(Path.Combine(_folder, $"{trialId}-{Guid.NewGuid():N}"));
        var checkpoint = Path.Combine(directory.FullName, "checkpoint.bin");
        await runner.RunAsync(new TrialRequest("r1", trialId, data, config,
            new Dictionary<string, JsonElement> { [setting] = JsonSerializer.SerializeToElement(value) }, Seed: 3,
            checkpoint, directory.CreateSubdirectory("plots").FullName), CancellationToken.None);
        return ModelCheckpoint.Read(checkpoint);
    }

    [Fact]
    public async Task A_runs_trials_share_one_fit_of_the_trees_and_blend_as_with_trees_fitted_for_them_alone()
    {
        var runner = new TorchTrialRunner(new LearningOptions(1));
        // Grid points that differ in the network only (hidden size, learning rate): one fit for all three.
        var first = await RunAsync(runner, _data, Blend, "t0", "hidden_size", 8);
        var second = await RunAsync(runner, _data, Blend, "t1", "hidden_size", 12);
        var third = await RunAsync(runner, _data, Blend, "t2", "learning_rate", 0.02);
        using (first.Model)
        using (third.Model)
        {
            Assert.Equal(1, runner.BlendTrees.Fits);
            Assert.Equal(first.TreesBlend!.TreeScores(_data.Test), second.TreesBlend!.TreeScores(_data.Test));
            Assert.Equal(first.TreesBlend.TreeScores(_data.Test), third.TreesBlend!.TreeScores(_data.Test));
        }

        // The second trial alone on a fresh runner (its own fit): the same trees, weight and calibration.
        var alone = await RunAsync(new TorchTrialRunner(new LearningOptions(1)), _data, Blend, "t1", "hidden_size", 12);
        using (second.Model)
        using (alone.Model)
        {
            Assert.Equal(alone.TreesBlend!.TreeScores(_data.Test), second.TreesBlend.TreeScores(_data.Test));
            Assert.Equal(alone.TreesBlend.ModelWeight, second.TreesBlend.ModelWeight);
            Assert.Equal(alone.ChurnCalibration, second.ChurnCalibration);
        }
    }

    [Fact]
    public async Task Other_trees_options_or_another_dataset_fit_again_and_a_model_without_the_blend_fits_none()
    {
        var runner = new TorchTrialRunner(new LearningOptions(1));
        using ((await RunAsync(runner, _data, Config(""), "t0", "hidden_size", 8)).Model) { }
        Assert.Equal(0, runner.BlendTrees.Fits);

        using ((await RunAsync(runner, _data, Blend, "t1", "hidden_size", 8)).Model) { }
        // use_time_gaps changes the trees' features: its own fit.
        var noGaps = await RunAsync(runner, _data, Blend, "t2", "use_time_gaps", false);
        using (noGaps.Model)
        {
            Assert.Equal(2, runner.BlendTrees.Fits);
            Assert.False(noGaps.Config.Init.UseTimeGaps);
        }
        // Another dataset (another run's) with equal settings: fitted on its own data.
        var other = SyntheticSequences.Create(PredictionTask.Churn, train: 300, validation: 100, test: 40, seed: 5);
        using ((await RunAsync(runner, other, Blend, "t3", "hidden_size", 8)).Model) { }
        Assert.Equal(3, runner.BlendTrees.Fits);
        using ((await RunAsync(runner, other, Blend, "t4", "hidden_size", 12)).Model) { }
        Assert.Equal(3, runner.BlendTrees.Fits);
    }
}
