using System.Buffers;
using System.Buffers.Binary;

namespace CustomerAnalysis.Ingestion.Parquet;

/// <summary>
/// Numbers the INT64 values of one column chunk by where they are kept: value number n is <c>this[n]</c>. The values
/// (about one per slot of the chunk, plus its dictionary) are kept in a pooled array: dispose to return it.
/// </summary>
internal sealed class Int64Values(int expectedValues) : IValueNumbering, IDisposable
{
    private long[] _values = ArrayPool<long>.Shared.Rent(Math.Max(expectedValues, 16));
    private int _count;

    public long this[int number] => _values[number];

    public int Number(ReadOnlySpan<byte> value)
    {
        if (_count == _values.Length) Grow(); // a dictionary page and PLAIN fallback pages together
        _values[_count] = BinaryPrimitives.ReadInt64LittleEndian(value);
        return _count++;
    }

    /// <summary>Adds a value decoded elsewhere (the Parquet.Net fallback).</summary>
    public int Add(long value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        return Number(bytes);
    }

    private void Grow()
    {
        var larger = ArrayPool<long>.Shared.Rent(_values.Length * 2);
        _values.AsSpan(0, _count).CopyTo(larger);
        ArrayPool<long>.Shared.Return(_values);
        _values = larger;
    }

    public void Dispose() => ArrayPool<long>.Shared.Return(_values);
}
