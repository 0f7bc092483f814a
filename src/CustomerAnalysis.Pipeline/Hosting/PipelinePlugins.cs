using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Hosting;

/// <summary>The implementations a host plugs into the pipeline (preparer, trainer, evaluator, model loader).</summary>
public sealed record PipelinePlugins(
    IDatasetPreparer Preparer, ITrialRunner TrialRunner, IEvaluator Evaluator, IModelLoader ModelLoader);
