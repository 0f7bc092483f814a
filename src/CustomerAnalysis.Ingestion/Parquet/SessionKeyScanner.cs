using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using Parquet.Meta;
using Parquet.Schema;
using Snappier;

namespace CustomerAnalysis.Ingestion.Parquet;

/// <summary>
/// Reads the <c>event_params</c> key column chunk straight from the file and tells, slot by slot, where a row starts
/// and whether the key is <c>ga_session_id</c>. This is the costliest column of a GA4 export (several keys per event)
/// and only one key matters, so the keys are compared as UTF-8 bytes where they lie instead of being decoded into
/// strings by Parquet.Net (which took about half of the whole read).
/// <para>Handles what GA4 exports use: data pages v1 and v2, PLAIN or dictionary encoded, uncompressed or Snappy.
/// Anything else makes <see cref="TryRead"/> return null and the caller decodes the column with Parquet.Net.</para>
/// Format: https://github.com/apache/parquet-format (Thrift compact protocol for page headers, RLE/bit-packed
/// hybrid encoding for levels and dictionary indexes).
/// </summary>
internal static class SessionKeyScanner
{
    private static ReadOnlySpan<byte> SessionKeyUtf8 => "ga_session_id"u8;

    /// <summary>Per slot of a column chunk: does a row start there, and is its key <c>ga_session_id</c>.</summary>
    /// <remarks>The arrays are pooled: dispose to return them.</remarks>
    public sealed class KeySlots(int slotCount) : IDisposable
    {
        private readonly bool[] _startsRow = ArrayPool<bool>.Shared.Rent(slotCount);
        private readonly bool[] _isSessionKey = ArrayPool<bool>.Shared.Rent(slotCount);

        public Span<bool> StartsRow => _startsRow.AsSpan(0, slotCount);
        public Span<bool> IsSessionKey => _isSessionKey.AsSpan(0, slotCount);
        public int SlotCount => slotCount;

        public void Dispose()
        {
            ArrayPool<bool>.Shared.Return(_startsRow);
            ArrayPool<bool>.Shared.Return(_isSessionKey);
        }
    }

    /// <returns>The slots, or null when the chunk uses a codec, encoding or page kind not handled here.</returns>
    /// <exception cref="InvalidDataException">The chunk is malformed.</exception>
    public static KeySlots? TryRead(string path, ColumnChunk chunk, DataField field)
    {
        var meta = chunk.MetaData ?? throw new InvalidDataException($"no column chunk metadata for {field.Path}");
        if (meta.Codec is not (CompressionCodec.UNCOMPRESSED or CompressionCodec.SNAPPY) || field.MaxRepetitionLevel != 1)
            return null;
        var start = meta.DictionaryPageOffset is > 0 and var dictionary ? Math.Min(dictionary, meta.DataPageOffset) : meta.DataPageOffset;
        var length = checked((int)meta.TotalCompressedSize);
        var slotCount = checked((int)meta.NumValues);

        var bytes = ArrayPool<byte>.Shared.Rent(length);
        var result = new KeySlots(slotCount);
        try
        {
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1))
                RandomAccess.Read(file.SafeFileHandle, bytes.AsSpan(0, length), start);
            var reader = new ChunkReader(field, meta.Codec, result);
            if (!reader.ReadPages(bytes.AsSpan(0, length)))
            {
                result.Dispose();
                return null;
            }
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private sealed class ChunkReader(DataField field, CompressionCodec codec, KeySlots slots)
    {
        private readonly int slotCount = slots.SlotCount;
        private readonly int _maxDefinition = field.MaxDefinitionLevel;
        private bool[]? _dictionaryIsSessionKey;
        private int _slot;
        private byte[] _page = [];
        private int[] _repetition = [];
        private int[] _definition = [];
        private int[] _indexes = [];

        /// <returns>False when something not handled here was met.</returns>
        public bool ReadPages(ReadOnlySpan<byte> chunk)
        {
            var position = 0;
            while (position < chunk.Length && _slot < slotCount)
            {
                var header = PageHeaderReader.Read(chunk, ref position);
                if (header.CompressedSize < 0 || position + header.CompressedSize > chunk.Length)
                    throw new InvalidDataException($"page of {field.Path} runs past its column chunk");
                var payload = chunk.Slice(position, header.CompressedSize);
                position += header.CompressedSize;
                var handled = header.Type switch
                {
                    PageType.DICTIONARY_PAGE => ReadDictionary(header, payload),
                    PageType.DATA_PAGE => ReadDataPageV1(header, payload),
                    PageType.DATA_PAGE_V2 => ReadDataPageV2(header, payload),
                    _ => true, // index pages carry no values
                };
                if (!handled) return false;
            }
            if (_slot != slotCount)
                throw new InvalidDataException($"column {field.Path} has {_slot} values, its metadata says {slotCount}");
            return true;
        }

        private bool ReadDictionary(PageHeaderReader.Header header, ReadOnlySpan<byte> payload)
        {
            if (header.Encoding is not (Encoding.PLAIN or Encoding.PLAIN_DICTIONARY)) return false;
            var values = Decompress(payload, header.UncompressedSize);
            _dictionaryIsSessionKey = new bool[header.ValueCount];
            var position = 0;
            for (var i = 0; i < header.ValueCount; i++)
                _dictionaryIsSessionKey[i] = NextPlainValue(values, ref position).SequenceEqual(SessionKeyUtf8);
            return true;
        }

        private bool ReadDataPageV1(PageHeaderReader.Header header, ReadOnlySpan<byte> payload)
        {
            var page = Decompress(payload, header.UncompressedSize);
            var position = 0;
            var count = Math.Min(header.ValueCount, slotCount - _slot);
            var repetition = ReadLevels(page, ref position, 1, count, lengthPrefixed: true, ref _repetition);
            var definition = ReadLevels(page, ref position, _maxDefinition, count, lengthPrefixed: true, ref _definition);
            return ReadValues(header.Encoding, page[position..], repetition, definition);
        }

        private bool ReadDataPageV2(PageHeaderReader.Header header, ReadOnlySpan<byte> payload)
        {
            var count = Math.Min(header.ValueCount, slotCount - _slot);
            var levelBytes = header.RepetitionLevelsLength + header.DefinitionLevelsLength;
            if (levelBytes > payload.Length) throw new InvalidDataException($"page levels of {field.Path} run past the page");
            var position = 0;
            var repetition = ReadLevels(payload[..header.RepetitionLevelsLength], ref position, 1, count, lengthPrefixed: false,
                ref _repetition);
            position = 0;
            var definition = ReadLevels(payload.Slice(header.RepetitionLevelsLength, header.DefinitionLevelsLength), ref position,
                _maxDefinition, count, lengthPrefixed: false, ref _definition);
            var values = header.IsCompressed
                ? Decompress(payload[levelBytes..], header.UncompressedSize - levelBytes)
                : payload[levelBytes..];
            return ReadValues(header.Encoding, values, repetition, definition);
        }

        /// <summary>Walks the page's slots: repetition level 0 starts a row; a key is present where the definition
        /// level is at its maximum, and only present slots have a value.</summary>
        private bool ReadValues(Encoding encoding, ReadOnlySpan<byte> values, ReadOnlySpan<int> repetition, ReadOnlySpan<int> definition)
        {
            var pageSlots = repetition.Length;
            var startsRow = slots.StartsRow.Slice(_slot, pageSlots);
            var isSessionKey = slots.IsSessionKey.Slice(_slot, pageSlots);
            var present = 0;
            for (var i = 0; i < pageSlots; i++)
                if (definition[i] == _maxDefinition) present++;

            var position = 0;
            switch (encoding)
            {
                case Encoding.PLAIN:
                    for (var i = 0; i < pageSlots; i++)
                    {
                        startsRow[i] = repetition[i] == 0;
                        isSessionKey[i] = definition[i] == _maxDefinition && NextPlainValue(values, ref position).SequenceEqual(SessionKeyUtf8);
                    }
                    break;
                case Encoding.PLAIN_DICTIONARY or Encoding.RLE_DICTIONARY:
                    if (_dictionaryIsSessionKey is null) throw new InvalidDataException($"column {field.Path} has no dictionary page");
                    // The indexes are prefixed by their bit width (a page of nulls only may have no bytes at all).
                    var bitWidth = values.IsEmpty ? 0 : values[0];
                    position = 1;
                    var indexes = Rent(ref _indexes, present);
                    HybridDecoder.Decode(values, ref position, bitWidth, indexes);
                    var next = 0;
                    for (var i = 0; i < pageSlots; i++)
                    {
                        startsRow[i] = repetition[i] == 0;
                        isSessionKey[i] = definition[i] == _maxDefinition && _dictionaryIsSessionKey[CheckedIndex(indexes[next++])];
                    }
                    break;
                default:
                    return false;
            }
            _slot += pageSlots;
            return true;
        }

        private int CheckedIndex(int index) =>
            (uint)index < (uint)_dictionaryIsSessionKey!.Length ? index
                : throw new InvalidDataException($"column {field.Path}: dictionary index {index} out of range");

        /// <param name="lengthPrefixed">Data page v1 prefixes the levels with their byte length; v2 gives it in the header.</param>
        private ReadOnlySpan<int> ReadLevels(ReadOnlySpan<byte> page, ref int position, int maxLevel, int count,
            bool lengthPrefixed, ref int[] buffer)
        {
            var destination = Rent(ref buffer, count);
            var length = page.Length - position;
            if (lengthPrefixed)
            {
                if (position + 4 > page.Length) throw new InvalidDataException($"page levels of {field.Path} run past the page");
                length = BinaryPrimitives.ReadInt32LittleEndian(page[position..]);
                position += 4;
            }
            if (length < 0 || position + length > page.Length) throw new InvalidDataException($"page levels of {field.Path} run past the page");
            var levels = page.Slice(position, length);
            position += length;
            var levelPosition = 0;
            var bitWidth = 32 - BitOperations.LeadingZeroCount((uint)maxLevel);
            HybridDecoder.Decode(levels, ref levelPosition, bitWidth, destination);
            return destination;
        }

        private static ReadOnlySpan<byte> NextPlainValue(ReadOnlySpan<byte> values, ref int position)
        {
            if (position + 4 > values.Length) throw new InvalidDataException("PLAIN string value runs past its page");
            var length = BinaryPrimitives.ReadInt32LittleEndian(values[position..]);
            position += 4;
            if (length < 0 || position + length > values.Length) throw new InvalidDataException("PLAIN string value runs past its page");
            var value = values.Slice(position, length);
            position += length;
            return value;
        }

        private ReadOnlySpan<byte> Decompress(ReadOnlySpan<byte> payload, int uncompressedSize)
        {
            if (codec == CompressionCodec.UNCOMPRESSED) return payload;
            if (_page.Length < uncompressedSize) _page = new byte[Math.Max(uncompressedSize, _page.Length * 2)];
            var written = Snappy.Decompress(payload, _page);
            if (written != uncompressedSize)
                throw new InvalidDataException($"page of {field.Path} decompressed to {written} bytes, its header says {uncompressedSize}");
            return _page.AsSpan(0, written);
        }

        private static Span<int> Rent(ref int[] buffer, int length)
        {
            if (buffer.Length < length) buffer = new int[Math.Max(length, buffer.Length * 2)];
            return buffer.AsSpan(0, length);
        }
    }
}
