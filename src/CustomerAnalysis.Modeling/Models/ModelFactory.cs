using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace CustomerAnalysis.Modeling.Models;

public static class ModelFactory
{
    /// <summary>Model construction draws initial weights from torch's process-wide generator: one at a time.</summary>
    private static readonly Lock InitializationLock = new();

    /// <summary>A new model as the config describes, its weights initialised from <paramref name="seed"/> (repeatable
    /// even when other threads build models at the same time), on <paramref name="device"/>.</summary>
    /// <param name="signals">The dataset's signal encoding: required when the config has <c>use_signals</c> on, and
    /// ignored when it is off (the model is then exactly the names-only one).</param>
    /// <exception cref="Core.InvalidInputException"><c>use_signals</c> is on but there are no signals.</exception>
    public static SequenceModel Create(NnConfig config, PredictionTask task, int vocabularySize, int seed, Device device,
        SignalEncoding? signals = null)
    {
        if (config.Init.UseSignals && signals is null)
            throw new Core.InvalidInputException(
                "Setting model_init_params.use_signals is true but the dataset has no signals: prepare it with the prepare option \"signals\" (e.g. \"recommended\").");
        var used = config.Init.UseSignals ? signals : null;
        lock (InitializationLock)
        {
            torch.manual_seed(seed);
            SequenceModel Member() => config.Init switch
            {
                RnnInitParams rnn => new RnnModel(rnn, task, vocabularySize, used),
                TransformerInitParams transformer => new TransformerModel(transformer, task, vocabularySize, used),
                _ => throw new ArgumentException($"No model for {config.Init.GetType().Name}.", nameof(config)),
            };
            // ensemble_size 1: exactly the single model (its parameter names and weights as before). Otherwise the
            // members are built in turn from the one seeded generator: member 0 is that same model, the others differ.
            var model = config.Init.EnsembleSize == 1
                ? Member()
                : new EnsembleModel([.. Enumerable.Range(0, config.Init.EnsembleSize).Select(_ => Member())]);
            model.to(device);
            return model;
        }
    }

    /// <summary>cpu | cuda | auto → a device; cuda when asked for but absent is an error.</summary>
    public static Device ResolveDevice(string setting) => setting switch
    {
        "cpu" => torch.CPU,
        "cuda" when torch.cuda.is_available() => torch.CUDA,
        "cuda" => throw new Core.InvalidInputException("Setting model_training_params.device is \"cuda\" but no CUDA device is available; use \"cpu\" or \"auto\"."),
        _ => torch.cuda.is_available() ? torch.CUDA : torch.CPU,
    };
}
