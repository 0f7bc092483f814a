using System.Buffers;
using System.IO.Hashing;
using System.Text;

namespace CustomerAnalysis.Core.Events;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/>: the users whose <c>user_pseudo_id</c> hashes to it. The hash is
/// XxHash64 (seed 0) of the id's UTF-8 bytes, modulo <see cref="Count"/>: stable across processes, machines and .NET
/// versions (unlike <see cref="string.GetHashCode()"/>), so shards read by different activities never overlap.
/// Rows without a user id belong to shard 0, so each rejected row is counted exactly once.
/// <para>This decides membership for files and <c>blob://</c> sources. BigQuery shards are cut server side with
/// <c>FARM_FINGERPRINT</c>, a different hash: the users of BigQuery shard k are not those of file shard k (each is a
/// partition of the users, which is all a prepare needs).</para>
/// </summary>
public readonly record struct UserShard
{
    /// <summary>Most shards one prepare may be cut into.</summary>
    public const int MaxCount = 4096;

    public UserShard(int index, int count)
    {
        if (count < 1 || count > MaxCount)
            throw new InvalidInputException($"shards must be between 1 and {MaxCount}; got {count}.");
        if (index < 0 || index >= count)
            throw new InvalidInputException($"Shard index {index} is outside 0..{count - 1}.");
        Index = index;
        Count = count;
    }

    /// <summary>Every user (the unsharded prepare).</summary>
    public static UserShard Whole { get; } = new(0, 1);

    public int Index { get; }
    public int Count { get; }
    public bool IsWhole => Count == 1;

    /// <summary>The shard of <paramref name="userPseudoId"/> among <paramref name="count"/>; 0 for a missing id.</summary>
    public static int Of(string? userPseudoId, int count)
    {
        if (count == 1 || string.IsNullOrEmpty(userPseudoId)) return 0;
        return (int)(Hash(userPseudoId) % (ulong)count);
    }

    public bool Owns(string? userPseudoId) => IsWhole || Of(userPseudoId, Count) == Index;

    /// <summary>XxHash64 (seed 0) of the UTF-8 bytes.</summary>
    public static ulong Hash(string userPseudoId)
    {
        var length = Encoding.UTF8.GetMaxByteCount(userPseudoId.Length);
        byte[]? rented = null;
        var buffer = length <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(userPseudoId, buffer);
            return XxHash64.HashToUInt64(buffer[..written]);
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override string ToString() => $"{Index}/{Count}";
}
