using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Core.Configuration;
using CustomerAnalysis.Modeling.Training;

namespace CustomerAnalysis.Modeling.Tests.Training;

/// <summary>
/// Many short trials at once while another thread collects garbage and runs finalizers without pause. A number
/// passed where TorchSharp takes a Scalar (its optimizers' <c>addcdiv_(…, value: -step_size)</c>, the tensor
/// <c>+</c> operator's alpha, <c>square()</c>'s exponent) is a finalizable native handle nothing keeps alive during
/// the native call: under this pressure such a call fails within seconds ("Expected false to be true … toFloat at
/// Scalar.h", "Unknown scalar type") or crashes the process, as one trial of a 36-trial grid did on real data.
/// </summary>
public class ParallelStressTests
{
    [Theory]
    [InlineData("rnn", "events", "adamw", "\"hidden_size\": 4, \"embedding_size\": 4, \"cell_type\": \"lstm\", \"attention_type\": \"multi-head\", \"num_heads\": 2, \"attention_size\": 4")]
    [InlineData("rnn", "churn", "adam", "\"hidden_size\": 4, \"embedding_size\": 4, \"cell_type\": \"rnn\", \"attention_type\": \"last\", \"use_time_gaps\": true")]
    [InlineData("transformer", "events", "adamw", "\"model_size\": 8, \"num_heads\": 2, \"dim_feedforward\": 8, \"pooling\": \"last\", \"use_time_gaps\": true")]
    [InlineData("transformer", "churn", "adam", "\"model_size\": 8, \"num_heads\": 2, \"dim_feedforward\": 8, \"pooling\": \"mean\"")]
    public void Many_short_parallel_trials_survive_constant_garbage_collection(string model, string task, string optimizer, string init)
    {
        var predictionTask = task == "churn" ? PredictionTask.Churn : PredictionTask.Events;
        var data = SyntheticSequences.Create(predictionTask, train: 240, validation: 24, test: 12, maxLength: 6);
        var config = NnConfig.Parse($$"""
        {
          "model_type": "{{model}}",
          "model_init_params": { "dropout_rate": 0.1, "max_sequence_length": 6, {{init}} },
          "model_training_params": { "task": "{{task}}", "device": "cpu", "num_epochs": 2, "batch_size": 2, "optimizer": "{{optimizer}}",
            "weight_decay": 0.01, "reg_type": "L2", "reg_lambda": 0.0001, "gradient_clip_norm": 1.0,
            "class_weights": "{{(task == "churn" ? "balanced" : "none")}}" },
          "pipeline_params": { "early_stopping_patience": 0 },
          "grid_search_params": { "learning_rate": [0.001, 0.002, 0.003, 0.004] }
        }
        """);
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true, Name = "gc-pressure" };
        collector.Start();
        try
        {
            var result = GridSearch.Run(data, config, SyntheticSequences.AccuracyMetric, new GridSearchRun(MaxParallelTrials: 4, Cores: 4));
            result.Best.Training.Model.Dispose();

            // A trial that failed is recorded, not thrown: its error is the message here.
            Assert.True(result.Failed.Count == 0, string.Join("; ", result.Failed.Select(f => f.Error)));
            Assert.Equal(4, result.Trials.Count);
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
