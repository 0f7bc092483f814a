using Parquet.Meta;

namespace CustomerAnalysis.Ingestion.Parquet;

/// <summary>
/// Reads a Parquet page header: a Thrift struct in the compact protocol. Only the fields <see cref="ColumnScanner"/>
/// needs are kept; every other field (statistics, CRC, ...) is skipped by its wire type.
/// </summary>
internal static class PageHeaderReader
{
    public readonly record struct Header(
        PageType Type,
        int UncompressedSize,
        int CompressedSize,
        int ValueCount,
        Encoding Encoding,
        int DefinitionLevelsLength,
        int RepetitionLevelsLength,
        bool IsCompressed);

    // Compact protocol wire types.
    private const int Stop = 0, BoolTrue = 1, BoolFalse = 2, Byte = 3, I16 = 4, I32 = 5, I64 = 6, Double = 7, Binary = 8,
        List = 9, Set = 10, Map = 11, Struct = 12;

    public static Header Read(ReadOnlySpan<byte> data, ref int position)
    {
        var header = new Header { IsCompressed = true };
        var fieldId = 0;
        while (NextField(data, ref position, ref fieldId) is var type and not Stop)
        {
            switch (fieldId, type)
            {
                case (1, I32): header = header with { Type = (PageType)ReadInt(data, ref position) }; break;
                case (2, I32): header = header with { UncompressedSize = ReadInt(data, ref position) }; break;
                case (3, I32): header = header with { CompressedSize = ReadInt(data, ref position) }; break;
                case (5 or 7 or 8, Struct): header = ReadPageKindHeader(data, ref position, fieldId, header); break;
                default: Skip(data, ref position, type); break;
            }
        }
        return header;
    }

    /// <summary>Field 5 DataPageHeader, 7 DictionaryPageHeader, 8 DataPageHeaderV2: all start with num_values.</summary>
    private static Header ReadPageKindHeader(ReadOnlySpan<byte> data, ref int position, int kind, Header header)
    {
        var fieldId = 0;
        while (NextField(data, ref position, ref fieldId) is var type and not Stop)
        {
            header = (kind, fieldId, type) switch
            {
                (_, 1, I32) => header with { ValueCount = ReadInt(data, ref position) },
                (5 or 7, 2, I32) or (8, 4, I32) => header with { Encoding = (Encoding)ReadInt(data, ref position) },
                (8, 5, I32) => header with { DefinitionLevelsLength = ReadInt(data, ref position) },
                (8, 6, I32) => header with { RepetitionLevelsLength = ReadInt(data, ref position) },
                (8, 7, BoolTrue or BoolFalse) => header with { IsCompressed = type == BoolTrue },
                _ => SkipAndKeep(data, ref position, type, header),
            };
        }
        return header;
    }

    private static Header SkipAndKeep(ReadOnlySpan<byte> data, ref int position, int type, Header header)
    {
        Skip(data, ref position, type);
        return header;
    }

    /// <summary>The next field's wire type (Stop at the end of the struct); updates the field id.</summary>
    private static int NextField(ReadOnlySpan<byte> data, ref int position, ref int fieldId)
    {
        var b = ReadByte(data, ref position);
        var type = b & 0x0F;
        if (type == Stop) return Stop;
        var delta = b >> 4;
        fieldId = delta != 0 ? fieldId + delta : (short)ZigZag(ReadVarint(data, ref position));
        return type;
    }

    /// <summary>Walks one Thrift compact struct (a file footer) without keeping anything, checking that every length
    /// and count fits in <paramref name="data"/> and nesting stays bounded.</summary>
    /// <exception cref="InvalidDataException">The structure is damaged.</exception>
    public static void CheckStruct(ReadOnlySpan<byte> data)
    {
        var position = 0;
        Skip(data, ref position, Struct);
    }

    /// <summary>Nesting beyond this is damage (a page header nests two structs deep): recursion stays bounded.</summary>
    private const int MaxDepth = 32;

    private static void Skip(ReadOnlySpan<byte> data, ref int position, int type, int depth = 0)
    {
        if (depth > MaxDepth) throw new InvalidDataException("page header: Thrift structures nested too deep");
        switch (type)
        {
            case BoolTrue or BoolFalse: break; // the value is in the type
            case Byte: position++; break;
            case I16 or I32 or I64: ReadVarint(data, ref position); break;
            case Double: position += 8; break;
            case Binary:
                var length = checked((int)ReadVarint(data, ref position)); // read before adding: it moves position
                if (length < 0 || length > data.Length - position) throw new InvalidDataException("page header runs past its column chunk");
                position += length;
                break;
            case List or Set:
                var listHeader = ReadByte(data, ref position);
                var size = listHeader >> 4 == 15 ? checked((int)ReadVarint(data, ref position)) : listHeader >> 4;
                // Every element takes at least a byte (a bool in a list is a byte): a larger count is damage, and
                // would otherwise be looped through, billions of times, before the end of the data is noticed.
                if (size < 0 || size > data.Length - position) throw new InvalidDataException("page header: a list runs past its column chunk");
                var elementType = listHeader & 0x0F;
                for (var i = 0; i < size; i++)
                    Skip(data, ref position, elementType is BoolTrue or BoolFalse ? Byte : elementType, depth + 1);
                break;
            case Map:
                var entries = checked((int)ReadVarint(data, ref position));
                if (entries == 0) break;
                var types = ReadByte(data, ref position);
                if (entries < 0 || entries > data.Length - position) throw new InvalidDataException("page header: a map runs past its column chunk");
                for (var i = 0; i < entries; i++)
                {
                    Skip(data, ref position, ContainedType(types >> 4), depth + 1);
                    Skip(data, ref position, ContainedType(types & 0x0F), depth + 1);
                }
                break;
            case Struct:
                var fieldId = 0;
                while (NextField(data, ref position, ref fieldId) is var fieldType and not Stop) Skip(data, ref position, fieldType, depth + 1);
                break;
            default:
                throw new InvalidDataException($"page header: unknown Thrift compact type {type}");
        }
        if (position > data.Length) throw new InvalidDataException("page header runs past its column chunk");
    }

    /// <summary>Inside a list or map a bool is a byte of its own, not part of a field header.</summary>
    private static int ContainedType(int type) => type is BoolTrue or BoolFalse ? Byte : type;

    private static int ReadInt(ReadOnlySpan<byte> data, ref int position) => (int)ZigZag(ReadVarint(data, ref position));

    private static long ZigZag(ulong n) => (long)(n >> 1) ^ -(long)(n & 1);

    private static byte ReadByte(ReadOnlySpan<byte> data, ref int position) =>
        position < data.Length ? data[position++] : throw new InvalidDataException("page header runs past its column chunk");

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte(data, ref position);
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new InvalidDataException("page header: varint too long");
    }
}
