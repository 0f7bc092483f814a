using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Pipeline.Scoring;

/// <summary>A prepared churn dataset (<c>ca prepare</c>'s folder) as scoring candidates: its sequences, every split,
/// are the users the labels kept, which under the default rules (censoring on, bounced users excluded) are exactly
/// the users batch scoring scores, with the same inputs. A next-event dataset holds each session without its last
/// event, not each user's latest session, so it is refused, as is a churn dataset prepared with rules that keep users
/// scoring leaves out.</summary>
public static class PreparedDatasetScoring
{
    /// <exception cref="InvalidInputException">An events dataset, or one prepared with other churn rules.</exception>
    public static ScoringShard ToScoringShard(PreparedDataset dataset)
    {
        if (dataset.Task != PredictionTask.Churn)
            throw new InvalidInputException(
                "A prepared next-event dataset holds every session without its last event, not each user's latest session: " +
                "score the export itself (--input <source>).");
        if (!dataset.Options.CensorRecentUsers || dataset.Options.BouncedUsers != BouncedUsers.Exclude)
            throw new InvalidInputException(
                "This churn dataset was prepared keeping users batch scoring leaves out (censor_recent_users false or " +
                "bounced_users not_churned): score the export itself (--input <source>).");
        var sequences = dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).Concat(dataset.ValidationRecent)
            .Select(e => new ScoringSequence(e.User, e.Tokens, e.GapSeconds, long.MinValue))
            .ToList();
        return new ScoringShard
        {
            Shard = 0, ShardCount = 1, Task = PredictionTask.Churn, Options = dataset.Options,
            // The dataset does not keep the end of its data; every sequence in it is labelled (its window complete),
            // and a first engagement of long.MinValue lets each one through IsScored.
            MaxTimestamp = null, EventNames = dataset.Vocabulary.Tokens, Users = sequences.Count,
            Sequences = sequences,
        };
    }
}
