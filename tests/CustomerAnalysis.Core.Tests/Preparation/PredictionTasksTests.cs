using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Tests.Preparation;

public class PredictionTasksTests
{
    [Theory]
    [InlineData("events", PredictionTask.Events)]
    [InlineData("churn", PredictionTask.Churn)]
    [InlineData("Churn", PredictionTask.Churn)]
    [InlineData("EVENTS", PredictionTask.Events)]
    public void Names_parse_in_any_case_and_round_trip(string text, PredictionTask expected)
    {
        Assert.True(PredictionTasks.TryParse(text, out var task));
        Assert.Equal(expected, task);
        Assert.Equal(text.ToLowerInvariant(), PredictionTasks.Name(task));
    }

    [Theory]
    [InlineData("0")]   // Enum.TryParse would take these
    [InlineData("1")]
    [InlineData(" churn")]
    [InlineData("clicks")]
    [InlineData("")]
    [InlineData(null)]
    public void Anything_but_the_two_names_is_refused(string? text) =>
        Assert.False(PredictionTasks.TryParse(text, out _));
}
