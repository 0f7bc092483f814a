using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Core.Preparation;

namespace CustomerAnalysis.Core.Tests.Preparation;

/// <summary>Signals in the prepared dataset: vocabularies and scalers fitted on the training split only, markers and
/// &lt;OTHER&gt; explicit, the original protocol and prepares without signals unchanged, files round-trip.</summary>
public class SignalPreparationTests
{
    private static readonly SignalSet Set = Signals.ParseList("country,engagement_time_msec,page_path");

    /// <summary>Signal values in the set's order (page_path, then country). 60 users, 2 sessions of 3 events each. Country: "C{user % 3}" (user 7: "<Other>", user 8: none),
    /// plus "Only{user}" for one user each; engagement time = 100 × user; page path per event.</summary>
    private static EventTable Table(SignalSet? read = null, UserShard? shard = null)
    {
        var builder = new EventTableBuilder { Signals = read ?? Set, Shard = shard ?? UserShard.Whole };
        for (var user = 0; user < 60; user++)
            for (var session = 0; session < 2; session++)
                for (var e = 0; e < 3; e++)
                {
                    var country = user switch { 7 => "<Other>", 8 => null, _ when user % 10 == 9 => $"Only{user}", _ => $"C{user % 3}" };
                    var time = 1_000_000L * (user * 10_000 + session * 3_600 + e * 10);
                    builder.Add(new SourceRow($"u{user}", time, e == 2 ? "purchase" : "page_view", session + 1, null, "t", 0,
                        new SignalRow([$"https://shop.example.com/p{e}/x?id={user}", country], [100.0 * user])));
                }
        return builder.Build();
    }

    private static PrepareOptions Options => PrepareOptions.Default with { Signals = Set, SignalVocabularySize = 10 };

    [Fact]
    public void Vocabularies_and_scalers_come_from_the_training_split_only()
    {
        var dataset = DatasetPreparer.Prepare(Table(), PredictionTask.Events, Options, DatasetPreparer.DefaultProtocol);

        var encoding = Assert.IsType<SignalEncoding>(dataset.Signals);
        var country = Assert.Single(encoding.UserCategorical);
        var trainUsers = dataset.Train.Select(e => int.Parse(e.User[1..])).ToHashSet();
        var heldOut = dataset.Validation.Concat(dataset.Test).Select(e => int.Parse(e.User[1..])).ToHashSet();
        Assert.Empty(trainUsers.Intersect(heldOut));
        // A country seen only by a held-out user is not in the vocabulary, and encodes as <OTHER>.
        var heldOutOnly = heldOut.Where(u => u % 10 == 9).ToArray();
        Assert.NotEmpty(heldOutOnly);
        foreach (var user in heldOutOnly) Assert.DoesNotContain($"Only{user}", country.Tokens!);
        foreach (var example in dataset.Validation.Concat(dataset.Test).Where(e => int.Parse(e.User[1..]) % 10 == 9))
            Assert.Equal(SignalEncoding.Other, example.Signals!.User[0]);
        // Markers: obfuscated and missing are their own tokens, never a value of the vocabulary.
        Assert.Equal(["<PAD>", Signals.MissingToken, Signals.ObfuscatedToken, SignalEncoding.OtherToken], country.Tokens!.Take(4));
        Assert.DoesNotContain("<Other>", country.Tokens!);
        var all = dataset.Train.Concat(dataset.Validation).Concat(dataset.Test).ToArray();
        Assert.All(all.Where(e => e.User == "u7"), e => Assert.Equal(SignalEncoding.Obfuscated, e.Signals!.User[0]));
        Assert.All(all.Where(e => e.User == "u8"), e => Assert.Equal(SignalEncoding.Missing, e.Signals!.User[0]));

        // The scaler is the training events' mean and std of log(1 + x), not all events'.
        var scaler = Assert.Single(encoding.EventNumeric);
        var trainLogs = dataset.Train.SelectMany(e => Enumerable.Repeat(Math.Log(1 + 100.0 * int.Parse(e.User[1..])), e.Tokens.Length)).ToArray();
        Assert.Equal(trainLogs.Average(), scaler.Mean!.Value, 6);
        var allLogs = all.SelectMany(e => Enumerable.Repeat(Math.Log(1 + 100.0 * int.Parse(e.User[1..])), e.Tokens.Length)).ToArray();
        Assert.NotEqual(allLogs.Average(), scaler.Mean!.Value, 6);

        // Page paths are bucketed (no query string, first segment only) and aligned with the tokens.
        var page = Assert.Single(encoding.EventCategorical);
        Assert.Contains("shop.example.com/p0", page.Tokens!);
        Assert.DoesNotContain(page.Tokens!, t => t.Contains('?', StringComparison.Ordinal));
        Assert.All(all, e => Assert.Equal(e.Tokens.Length, e.Signals!.Categorical[0].Length));
    }

    [Fact]
    public void Signal_dropout_stores_a_share_of_the_training_examples_as_a_request_without_signals_is_encoded()
    {
        var kept = DatasetPreparer.Prepare(Table(), PredictionTask.Events, Options, DatasetPreparer.DefaultProtocol);
        var dropped = DatasetPreparer.Prepare(Table(), PredictionTask.Events, Options with { SignalDropout = 0.3 }, DatasetPreparer.DefaultProtocol);

        var encoding = dropped.Signals!;
        bool NoSignals(SequenceExample e) => e.Signals!.Categorical.All(f => f.All(v => v == SignalEncoding.Missing))
            && e.Signals.Numeric.All(f => f.All(v => v is null)) && e.Signals.User.All(v => v == SignalEncoding.Missing);
        // Every example of the table carries a page path and a number, so only dropped ones have no signal at all.
        Assert.DoesNotContain(kept.Train, NoSignals);
        var none = dropped.Train.Where(NoSignals).ToArray();
        Assert.InRange(none.Length, (int)(0.15 * dropped.Train.Count), (int)(0.45 * dropped.Train.Count));
        // The dropped examples hold what serving encodes for the same input sent without signals.
        Assert.All(none, e => Assert.Equivalent(SignalInputs.Encode(encoding, null, e.Tokens.Length), e.Signals));
        // Only signals change, and only in train: tokens, labels, splits, vocabularies and the held-out splits are as before.
        Assert.Equal(kept.Train.Select(e => (e.Id, string.Join(",", e.Tokens), e.Label)), dropped.Train.Select(e => (e.Id, string.Join(",", e.Tokens), e.Label)));
        Assert.Equal(Lines(kept with { Train = [] }), Lines(dropped with { Train = [], Options = kept.Options }));
        var keptById = kept.Train.ToDictionary(e => e.Id);
        Assert.All(dropped.Train.Where(e => !NoSignals(e)), e => Assert.Equivalent(keptById[e.Id].Signals, e.Signals));

        // The same examples whatever the sharding (the seeded hash of their ids), and 0 is no dropout.
        var shards = Enumerable.Range(0, 3).Select(k => new UserShard(k, 3)).Select(shard => DatasetPreparer.PrepareShard(
            Table(shard: shard), PredictionTask.Events, Options with { SignalDropout = 0.3 }, DatasetPreparer.DefaultProtocol, shard)).ToArray();
        Assert.Equal(none.Select(e => e.Id).Order(), DatasetPreparer.Merge(shards).Train.Where(NoSignals).Select(e => e.Id).Order());
        var zero = DatasetPreparer.Prepare(Table(), PredictionTask.Events, Options with { SignalDropout = 0 }, DatasetPreparer.DefaultProtocol);
        Assert.DoesNotContain(zero.Train, NoSignals);
        Assert.Null(PrepareOptions.Default.AsOriginalProtocol().SignalDropout);
    }

    [Fact]
    public void The_vocabulary_cap_sends_rare_values_to_other()
    {
        var options = Options with { SignalVocabularySize = 2 };
        var dataset = DatasetPreparer.Prepare(Table(), PredictionTask.Churn, options with { CensorRecentUsers = false },
            DatasetPreparer.DefaultProtocol);

        var country = dataset.Signals!.UserCategorical[0];
        Assert.Equal(4 + 2, country.Tokens!.Count);
        Assert.Contains(dataset.Train, e => e.Signals!.User[0] == SignalEncoding.Other);
    }

    [Fact]
    public void Without_signals_and_under_the_original_protocol_the_dataset_is_names_only_and_unchanged()
    {
        var plain = DatasetPreparer.Prepare(Table(SignalSet.None), PredictionTask.Events, PrepareOptions.Default, DatasetPreparer.DefaultProtocol);
        var original = DatasetPreparer.Prepare(Table(), PredictionTask.Events, Options, DatasetPreparer.OriginalProtocol);
        var originalPlain = DatasetPreparer.Prepare(Table(SignalSet.None), PredictionTask.Events, PrepareOptions.Default,
            DatasetPreparer.OriginalProtocol);

        Assert.Null(plain.Signals);
        Assert.All(plain.Train, e => Assert.Null(e.Signals));
        Assert.Null(original.Signals);
        Assert.Null(original.Options.Signals);
        Assert.Equal(DatasetPreparer.SignalsToRead(Options, DatasetPreparer.OriginalProtocol), SignalSet.None);
        Assert.Equal(Lines(originalPlain), Lines(original));
        Assert.DoesNotContain("signals", Lines(plain));
    }

    [Fact]
    public void Signals_asked_for_but_not_read_are_an_input_error()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            DatasetPreparer.Prepare(Table(SignalSet.None), PredictionTask.Events, Options, DatasetPreparer.DefaultProtocol));
        Assert.Contains("country", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dataset_with_signals_round_trips_through_its_files()
    {
        var dataset = DatasetPreparer.Prepare(Table(), PredictionTask.Events, Options, DatasetPreparer.DefaultProtocol);
        var folder = Directory.CreateTempSubdirectory("ca-signals-").FullName;
        try
        {
            await PreparedDatasetFiles.WriteAsync(dataset, folder);
            var read = await PreparedDatasetFiles.ReadAsync(folder);

            Assert.Equal(dataset.Signals!.Features.Select(f => (f.Field, string.Join("|", f.Tokens ?? []), f.Mean, f.Std)),
                read.Signals!.Features.Select(f => (f.Field, string.Join("|", f.Tokens ?? []), f.Mean, f.Std)));
            Assert.Equal(Set, read.Options.Signals);
            Assert.Equal(dataset.Test.Select(e => e.Signals!.User[0]), read.Test.Select(e => e.Signals!.User[0]));
            Assert.Equal(dataset.Test.SelectMany(e => e.Signals!.Numeric[0]), read.Test.SelectMany(e => e.Signals!.Numeric[0]));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string Lines(PreparedDataset dataset)
    {
        using var stream = new MemoryStream();
        PreparedDatasetFiles.WriteExamplesAsync(dataset.Train.Concat(dataset.Test), stream).GetAwaiter().GetResult();
        PreparedDatasetFiles.WriteManifestAsync(dataset with { Summary = dataset.Summary with { Protocol = "x" } }, stream).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
