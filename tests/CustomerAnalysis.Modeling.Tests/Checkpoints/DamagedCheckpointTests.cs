using System.Buffers.Binary;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using CustomerAnalysis.Modeling.Checkpoints;
using CustomerAnalysis.Modeling.Models;
using TorchSharp;

namespace CustomerAnalysis.Modeling.Tests.Checkpoints;

/// <summary>Damaged checkpoints (truncated, seeded random byte flips, absurd lengths) either load or fail with an
/// <see cref="InvalidInputException"/> naming the file: never another exception, a crash or a huge allocation.</summary>
public class DamagedCheckpointTests
{
    private static byte[] Checkpoint()
    {
        var config = SyntheticSequences.Config("rnn", PredictionTask.Events, "\"hidden_size\": 4, \"embedding_size\": 4, \"attention_type\": \"global\"");
        using var model = ModelFactory.Create(config, PredictionTask.Events, SyntheticSequences.Vocabulary.Count, seed: 2, torch.CPU);
        using var stream = new MemoryStream();
        new ModelCheckpoint(config, SyntheticSequences.Vocabulary, model, new Dictionary<string, double> { ["val_accuracy"] = 0.5 }).Write(stream);
        return stream.ToArray();
    }

    [Fact]
    public void Truncated_flipped_and_absurdly_sized_checkpoints_fail_naming_the_file()
    {
        var bytes = Checkpoint();
        var folder = Directory.CreateTempSubdirectory("ca-damaged-ckpt-").FullName;
        try
        {
            var cases = new List<(string Name, byte[] Bytes, bool MustFail)>();
            foreach (var length in new[] { 0, 3, 8, 11, 12, 20, bytes.Length / 2, bytes.Length - 1 })
                cases.Add(($"cut{length}", bytes[..length], true));
            foreach (var (offset, value) in new[] { (8, int.MaxValue), (8, -1), (8, 1 << 27) }) // the header length
            {
                var damaged = (byte[])bytes.Clone();
                BinaryPrimitives.WriteInt32LittleEndian(damaged.AsSpan(offset), value);
                cases.Add(($"header{value}", damaged, true));
            }
            for (var seed = 0; seed < 120; seed++)
            {
                var random = new Random(seed);
                var damaged = (byte[])bytes.Clone();
                for (var i = 0; i < 1 + random.Next(3); i++) damaged[random.Next(damaged.Length)] ^= (byte)(1 + random.Next(255));
                cases.Add(($"flip{seed}", damaged, false));
            }

            foreach (var (name, damaged, mustFail) in cases)
            {
                var path = Path.Combine(folder, $"{name}.ckpt");
                File.WriteAllBytes(path, damaged);
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    var loaded = ModelCheckpoint.Read(path);
                    loaded.Model.Dispose();
                    Assert.False(mustFail, $"{name}: the damaged checkpoint loaded");
                }
                catch (InvalidInputException e)
                {
                    Assert.Contains(path, e.Message);
                }
                catch (Exception e)
                {
                    Assert.Fail($"{name}: {e.GetType().Name} instead of InvalidInputException: {e}");
                }
                var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                Assert.True(allocated < 64L << 20, $"{name}: reading {damaged.Length:N0} bytes allocated {allocated:N0}");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
