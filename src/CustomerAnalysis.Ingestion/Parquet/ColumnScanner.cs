using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using CustomerAnalysis.Core.Events;
using Parquet.Meta;
using Parquet.Schema;
using Snappier;

namespace CustomerAnalysis.Ingestion.Parquet;

/// <summary>Turns a value, as the bytes stored in the file (UTF-8 for a string, 8 little-endian bytes for an INT64),
/// into a number.</summary>
internal interface IValueNumbering
{
    int Number(ReadOnlySpan<byte> value);
}

/// <summary>
/// Reads a string (BYTE_ARRAY) or INT64 column chunk straight from the file and numbers each value from its bytes
/// where they lie. Parquet.Net would first decode every value into a .NET string slice or array: for the columns a
/// GA4 read needs (user ids, event names, and the several <c>event_params</c> keys and values per event, of which only
/// one matters) that decoding and its garbage were most of the whole read.
/// <para>Handles what GA4 exports use: data pages v1 and v2, PLAIN or dictionary encoded, uncompressed or Snappy,
/// flat columns or one level of repetition. Anything else makes <see cref="TryRead"/> return null and the caller
/// decodes the column with Parquet.Net.</para>
/// Format: https://github.com/apache/parquet-format (Thrift compact protocol for page headers, RLE/bit-packed
/// hybrid encoding for levels and dictionary indexes).
/// </summary>
internal static class ColumnScanner
{
    /// <summary>Per slot of a column chunk (one per row for a flat column): does a row start there, and the number of
    /// its value (<see cref="Missing"/> where the value is null).</summary>
    /// <remarks>The arrays are pooled: dispose to return them.</remarks>
    public sealed class Slots(int slotCount) : IDisposable
    {
        public const int Missing = SourceBatch.Missing;

        private readonly bool[] _startsRow = ArrayPool<bool>.Shared.Rent(slotCount);
        private readonly int[] _numbers = ArrayPool<int>.Shared.Rent(slotCount);

        public Span<bool> StartsRow => _startsRow.AsSpan(0, slotCount);
        public Span<int> Numbers => _numbers.AsSpan(0, slotCount);
        public int SlotCount => slotCount;

        public void Dispose()
        {
            ArrayPool<bool>.Shared.Return(_startsRow);
            ArrayPool<int>.Shared.Return(_numbers);
        }
    }

    /// <returns>The slots, or null when the chunk uses a codec, encoding or page kind not handled here.</returns>
    /// <exception cref="InvalidDataException">The chunk is malformed.</exception>
    public static Slots? TryRead(string path, ColumnChunk chunk, DataField field, IValueNumbering numbering)
    {
        var meta = chunk.MetaData ?? throw new InvalidDataException($"no column chunk metadata for {field.Path}");
        if (meta.Codec is not (CompressionCodec.UNCOMPRESSED or CompressionCodec.SNAPPY) || field.MaxRepetitionLevel > 1
            || meta.Type is not (global::Parquet.Meta.Type.BYTE_ARRAY or global::Parquet.Meta.Type.INT64))
            return null;
        var start = meta.DictionaryPageOffset is > 0 and var dictionary ? Math.Min(dictionary, meta.DataPageOffset) : meta.DataPageOffset;
        var length = checked((int)meta.TotalCompressedSize);
        var slotCount = checked((int)meta.NumValues);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        // Sizes from a damaged footer are checked against the file before anything is allocated by them.
        if (start < 0 || length <= 0 || start > file.Length - length)
            throw new InvalidDataException($"column {field.Path} runs past the end of the file");
        // Every value costs at least a bit of its chunk (a level, an index); RLE packs many in a byte, so the bound is loose.
        if (slotCount < 0 || slotCount > (long)length * 8 * MaxValuesPerBit)
            throw new InvalidDataException($"column {field.Path} claims {slotCount} values in {length} bytes");

        var bytes = ArrayPool<byte>.Shared.Rent(length);
        var result = new Slots(slotCount);
        try
        {
            if (RandomAccess.Read(file.SafeFileHandle, bytes.AsSpan(0, length), start) != length)
                throw new InvalidDataException($"column {field.Path} runs past the end of the file");
            var plainWidth = meta.Type == global::Parquet.Meta.Type.INT64 ? sizeof(long) : LengthPrefixed;
            using var reader = new ChunkReader(field, meta.Codec, plainWidth, numbering, result);
            if (reader.ReadPages(bytes.AsSpan(0, length))) return result;
            result.Dispose();
            return null;
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

    /// <summary>Walks a chunk's pages. Its scratch buffers are pooled (a read makes three chunks per row group, and
    /// fresh buffers of that size would all be large-object garbage).</summary>
    /// <summary>A PLAIN BYTE_ARRAY value is prefixed by its length; other types have a fixed width.</summary>
    private const int LengthPrefixed = 0;
    /// <summary>Values one bit of a chunk may stand for: an RLE run of a few bytes can hold a whole row group of nulls,
    /// so this only stops counts no file could hold (a damaged NumValues of 2^31 in a 100-byte chunk).</summary>
    private const int MaxValuesPerBit = 1 << 16;

    private sealed class ChunkReader(DataField field, CompressionCodec codec, int plainWidth, IValueNumbering numbering, Slots slots)
        : IDisposable
    {
        private readonly int _maxDefinition = field.MaxDefinitionLevel;
        private readonly int _maxRepetition = field.MaxRepetitionLevel;
        private int[]? _dictionaryNumbers;
        private int _slot;
        private byte[] _page = [];
        private int[] _repetition = [];
        private int[] _definition = [];
        private int[] _indexes = [];

        /// <returns>False when something not handled here was met.</returns>
        public bool ReadPages(ReadOnlySpan<byte> chunk)
        {
            var position = 0;
            while (position < chunk.Length && _slot < slots.SlotCount)
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
            if (_slot != slots.SlotCount)
                throw new InvalidDataException($"column {field.Path} has {_slot} values, its metadata says {slots.SlotCount}");
            return true;
        }

        /// <summary>Dictionary values are numbered once; data pages then refer to them by index.</summary>
        private bool ReadDictionary(PageHeaderReader.Header header, ReadOnlySpan<byte> payload)
        {
            if (header.Encoding is not (Encoding.PLAIN or Encoding.PLAIN_DICTIONARY)) return false;
            var values = Decompress(payload, header.UncompressedSize);
            // Each PLAIN value takes at least 4 bytes (a length prefix, or an INT64's 8).
            if (header.ValueCount < 0 || header.ValueCount > values.Length / 4)
                throw new InvalidDataException($"dictionary page of {field.Path} claims {header.ValueCount} values in {values.Length} bytes");
            _dictionaryNumbers = new int[header.ValueCount];
            var position = 0;
            for (var i = 0; i < header.ValueCount; i++)
                _dictionaryNumbers[i] = numbering.Number(NextPlainValue(values, ref position));
            return true;
        }

        private bool ReadDataPageV1(PageHeaderReader.Header header, ReadOnlySpan<byte> payload)
        {
            var page = Decompress(payload, header.UncompressedSize);
            var position = 0;
            var count = Math.Min(header.ValueCount, slots.SlotCount - _slot);
            // v1 prefixes each level run with its byte length, and leaves out levels whose maximum is 0.
            var repetition = ReadLevels(page, ref position, _maxRepetition, count, lengthPrefixed: true, ref _repetition);
            var definition = ReadLevels(page, ref position, _maxDefinition, count, lengthPrefixed: true, ref _definition);
            return ReadValues(header.Encoding, page[position..], repetition, definition);
        }

        private bool ReadDataPageV2(PageHeaderReader.Header header, ReadOnlySpan<byte> payload)
        {
            var count = Math.Min(header.ValueCount, slots.SlotCount - _slot);
            var levelBytes = header.RepetitionLevelsLength + header.DefinitionLevelsLength;
            if (header.RepetitionLevelsLength < 0 || header.DefinitionLevelsLength < 0 || levelBytes > payload.Length)
                throw new InvalidDataException($"page levels of {field.Path} run past the page");
            // v2 keeps the levels uncompressed, lengths in the header; only the values may be compressed.
            var position = 0;
            var repetition = ReadLevels(payload[..header.RepetitionLevelsLength], ref position, _maxRepetition, count,
                lengthPrefixed: false, ref _repetition);
            position = 0;
            var definition = ReadLevels(payload.Slice(header.RepetitionLevelsLength, header.DefinitionLevelsLength), ref position,
                _maxDefinition, count, lengthPrefixed: false, ref _definition);
            var values = header.IsCompressed
                ? Decompress(payload[levelBytes..], header.UncompressedSize - levelBytes)
                : payload[levelBytes..];
            return ReadValues(header.Encoding, values, repetition, definition);
        }

        /// <summary>Walks the page's slots: repetition level 0 starts a row; a value is present where the definition
        /// level is at its maximum, and only present slots have one in the values section.</summary>
        private bool ReadValues(Encoding encoding, ReadOnlySpan<byte> values, ReadOnlySpan<int> repetition, ReadOnlySpan<int> definition)
        {
            var pageSlots = repetition.Length;
            var startsRow = slots.StartsRow.Slice(_slot, pageSlots);
            var numbers = slots.Numbers.Slice(_slot, pageSlots);
            for (var i = 0; i < pageSlots; i++) startsRow[i] = repetition[i] == 0;

            var position = 0;
            switch (encoding)
            {
                case Encoding.PLAIN:
                    for (var i = 0; i < pageSlots; i++)
                        numbers[i] = definition[i] == _maxDefinition
                            ? numbering.Number(NextPlainValue(values, ref position))
                            : Slots.Missing;
                    break;
                case Encoding.PLAIN_DICTIONARY or Encoding.RLE_DICTIONARY:
                    if (_dictionaryNumbers is null) throw new InvalidDataException($"column {field.Path} has no dictionary page");
                    var present = 0;
                    for (var i = 0; i < pageSlots; i++)
                        if (definition[i] == _maxDefinition) present++;
                    // The indexes are prefixed by their bit width (a page of nulls only may have no bytes at all).
                    var bitWidth = values.IsEmpty ? 0 : values[0];
                    position = 1;
                    var indexes = Rent(ref _indexes, present);
                    HybridDecoder.Decode(values, ref position, bitWidth, indexes);
                    var next = 0;
                    for (var i = 0; i < pageSlots; i++)
                        numbers[i] = definition[i] == _maxDefinition ? DictionaryNumber(indexes[next++]) : Slots.Missing;
                    break;
                default:
                    return false;
            }
            _slot += pageSlots;
            return true;
        }

        private int DictionaryNumber(int index) =>
            (uint)index < (uint)_dictionaryNumbers!.Length ? _dictionaryNumbers[index]
                : throw new InvalidDataException($"column {field.Path}: dictionary index {index} out of range");

        /// <param name="lengthPrefixed">Data page v1 prefixes the levels with their byte length; v2 gives it in the header.</param>
        private ReadOnlySpan<int> ReadLevels(ReadOnlySpan<byte> page, ref int position, int maxLevel, int count,
            bool lengthPrefixed, ref int[] buffer)
        {
            var destination = Rent(ref buffer, count);
            if (maxLevel == 0)
            {
                destination.Clear(); // not stored: every slot is at level 0
                return destination;
            }
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
            HybridDecoder.Decode(levels, ref levelPosition, 32 - BitOperations.LeadingZeroCount((uint)maxLevel), destination);
            return destination;
        }

        private ReadOnlySpan<byte> NextPlainValue(ReadOnlySpan<byte> values, ref int position)
        {
            var length = plainWidth;
            if (plainWidth == LengthPrefixed)
            {
                if (position + 4 > values.Length) throw new InvalidDataException($"PLAIN value of {field.Path} runs past its page");
                length = BinaryPrimitives.ReadInt32LittleEndian(values[position..]);
                position += 4;
            }
            if (length < 0 || position + length > values.Length) throw new InvalidDataException($"PLAIN value of {field.Path} runs past its page");
            var value = values.Slice(position, length);
            position += length;
            return value;
        }

        private ReadOnlySpan<byte> Decompress(ReadOnlySpan<byte> payload, int uncompressedSize)
        {
            if (codec == CompressionCodec.UNCOMPRESSED) return payload;
            // Snappy expands at most ~21× (a 3-byte copy of 64 bytes): a larger claim is damage, not data.
            if (uncompressedSize < 0 || uncompressedSize > (long)payload.Length * 32 + 64)
                throw new InvalidDataException($"page of {field.Path} claims {uncompressedSize} bytes from {payload.Length} compressed");
            Rent(ref _page, uncompressedSize);
            var written = Snappy.Decompress(payload, _page);
            if (written != uncompressedSize)
                throw new InvalidDataException($"page of {field.Path} decompressed to {written} bytes, its header says {uncompressedSize}");
            return _page.AsSpan(0, written);
        }

        private static Span<T> Rent<T>(ref T[] buffer, int length)
        {
            if (buffer.Length < length)
            {
                if (buffer.Length > 0) ArrayPool<T>.Shared.Return(buffer);
                buffer = ArrayPool<T>.Shared.Rent(length);
            }
            return buffer.AsSpan(0, length);
        }

        public void Dispose()
        {
            foreach (var buffer in new[] { _repetition, _definition, _indexes })
                if (buffer.Length > 0) ArrayPool<int>.Shared.Return(buffer);
            if (_page.Length > 0) ArrayPool<byte>.Shared.Return(_page);
        }
    }
}
