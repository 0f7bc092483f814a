namespace CustomerAnalysis.Ingestion.Parquet;

/// <summary>
/// Parquet's RLE / bit-packed hybrid encoding (levels and dictionary indexes): a sequence of runs, each led by a
/// ULEB128 header whose low bit says which kind it is — a repeated value (header &gt;&gt; 1 times, stored in
/// ceil(bitWidth / 8) little-endian bytes) or groups of 8 values bit-packed least significant bit first.
/// </summary>
internal static class HybridDecoder
{
    /// <summary>Fills <paramref name="values"/> from <paramref name="data"/> at <paramref name="position"/>.</summary>
    public static void Decode(ReadOnlySpan<byte> data, ref int position, int bitWidth, Span<int> values)
    {
        if (bitWidth is < 0 or > 32) throw new InvalidDataException($"bit width {bitWidth} out of range");
        var count = values.Length;
        if (bitWidth == 0)
        {
            values.Clear(); // every value is 0 and takes no bytes
            return;
        }
        var done = 0;
        while (done < count)
        {
            var header = ReadUleb128(data, ref position);
            if ((header & 1) == 0)
            {
                var runLength = (int)Math.Min(header >> 1, (ulong)(count - done));
                var byteWidth = (bitWidth + 7) / 8;
                if (position + byteWidth > data.Length) throw new InvalidDataException("RLE run runs past its data");
                var value = 0;
                for (var b = 0; b < byteWidth; b++) value |= data[position + b] << (8 * b);
                position += byteWidth;
                values.Slice(done, runLength).Fill(value);
                done += runLength;
            }
            else
            {
                var groups = (int)Math.Min(header >> 1, int.MaxValue / 8);
                var byteCount = groups * bitWidth; // 8 values of bitWidth bits per group
                if (position + byteCount > data.Length) throw new InvalidDataException("bit-packed run runs past its data");
                var packed = data.Slice(position, byteCount);
                position += byteCount;
                var take = Math.Min(groups * 8, count - done);
                var mask = bitWidth == 32 ? uint.MaxValue : (1u << bitWidth) - 1;
                for (var i = 0; i < take; i++)
                {
                    var bit = i * bitWidth;
                    // Up to 32 bits starting anywhere in a byte span at most 5 bytes; read what is there.
                    ulong window = 0;
                    var first = bit >> 3;
                    for (var b = 0; b < 5 && first + b < packed.Length; b++) window |= (ulong)packed[first + b] << (8 * b);
                    values[done + i] = (int)((window >> (bit & 7)) & mask);
                }
                done += take;
            }
        }
    }

    private static ulong ReadUleb128(ReadOnlySpan<byte> data, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) throw new InvalidDataException("run header runs past its data");
            var b = data[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new InvalidDataException("run header is too long");
    }
}
