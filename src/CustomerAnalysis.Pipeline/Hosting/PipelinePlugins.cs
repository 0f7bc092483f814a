using CustomerAnalysis.Pipeline.Training;
using CustomerAnalysis.Pipeline.Training.InProcess;

namespace CustomerAnalysis.Pipeline.Hosting;

/// <summary>The implementations a host plugs into the pipeline (preparer, trainer, evaluator, model loader).</summary>
public sealed record PipelinePlugins(
    IDatasetPreparer Preparer, ITrialRunner TrialRunner, IEvaluator Evaluator, IModelLoader ModelLoader)
{
    /// <summary>The real learning core in this process: GA4 readers and preparer, TorchSharp trials, test evaluation
    /// with baselines, the TorchSharp predictor.</summary>
    public static PipelinePlugins InProcess(int maxParallelTrials = 0) => new(
        new ExportDatasetPreparer(), new TorchTrialRunner(maxParallelTrials), new CheckpointEvaluator(), new TorchModelLoader());
}
