using CustomerAnalysis.Pipeline.Storage;
using CustomerAnalysis.Pipeline.Training;

namespace CustomerAnalysis.Pipeline.Tests;

public sealed class RunProgressTests
{
    [Theory]
    [InlineData(RunStatus.Pending, "prepare", RunStatus.Running, "prepare", true)]
    [InlineData(RunStatus.Running, "prepare", RunStatus.Running, "prepare", true)]   // the same update again
    [InlineData(RunStatus.Running, "train", RunStatus.Running, "evaluate", true)]
    [InlineData(RunStatus.Running, "evaluate", RunStatus.Completed, "done", true)]
    [InlineData(RunStatus.Running, "train", RunStatus.Failed, "failed", true)]
    [InlineData(RunStatus.Running, "evaluate", RunStatus.Running, "train", false)]   // an earlier stage
    [InlineData(RunStatus.Running, "train", RunStatus.Running, "prepare", false)]
    [InlineData(RunStatus.Running, "prepare", RunStatus.Pending, "prepare", false)]  // back to pending
    [InlineData(RunStatus.Completed, "done", RunStatus.Running, "evaluate", false)]  // an ended run stays ended
    [InlineData(RunStatus.Completed, "done", RunStatus.Failed, "failed", false)]
    [InlineData(RunStatus.Cancelled, "cancelled", RunStatus.Running, "train", false)]
    [InlineData(RunStatus.Cancelled, "cancelled", RunStatus.Completed, "done", false)]
    [InlineData(RunStatus.Failed, "failed", RunStatus.Completed, "done", false)]
    public void A_record_only_moves_forward(RunStatus status, string stage, RunStatus toStatus, string toStage, bool moves)
    {
        var record = new RunRecord { RunId = "r", Source = "s", Task = "events", ModelName = "m", Status = status, Stage = stage };
        Assert.Equal(moves, RunProgress.MovesForward(record, toStatus, toStage));
    }
}
