using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.Json;

/// <summary>
/// Parses one GA4 event object into a <see cref="SourceRow"/>, reading only the needed fields and skipping the rest.
/// INT64 values may be JSON strings (as BigQuery writes them) or numbers. A needed field that is absent, null, or of
/// a type or text that does not parse is left null, so the row is rejected for that field.
/// </summary>
internal static class JsonRowParser
{
    public static SourceRow Parse(ReadOnlySpan<byte> rowJson, StringPool strings, string source, long rowNumber)
    {
        var reader = new Utf8JsonReader(rowJson, isFinalBlock: true, state: default);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new InvalidInputException($"JSON file {source}: row {rowNumber} is {Describe(reader.TokenType)}, not an object");

        string? user = null, name = null;
        long? timestamp = null, session = null, bundle = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("user_pseudo_id"u8)) user = ReadString(ref reader, strings);
            else if (reader.ValueTextEquals("event_timestamp"u8)) timestamp = ReadInt64(ref reader);
            else if (reader.ValueTextEquals("event_name"u8)) name = ReadString(ref reader, strings);
            else if (reader.ValueTextEquals("event_bundle_sequence_id"u8)) bundle = ReadInt64(ref reader);
            else if (reader.ValueTextEquals("event_params"u8)) session = ReadGaSessionId(ref reader);
            else SkipValue(ref reader);
        }
        return new SourceRow(user, timestamp, name, session, bundle, source, rowNumber);
    }

    /// <summary>The int_value of the first <c>ga_session_id</c> entry of <c>event_params</c> that has one.</summary>
    private static long? ReadGaSessionId(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return null;
        }
        long? found = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            // Properties may come in any order, so remember both before deciding.
            var isSessionId = false;
            long? intValue = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("key"u8))
                {
                    reader.Read();
                    isSessionId = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("ga_session_id"u8);
                }
                else if (reader.ValueTextEquals("value"u8)) intValue = ReadIntValue(ref reader);
                else SkipValue(ref reader);
            }
            if (found is null && isSessionId) found = intValue;
        }
        return found;
    }

    /// <summary>Reads a param's <c>value</c> struct and returns its int_value.</summary>
    private static long? ReadIntValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }
        long? intValue = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("int_value"u8)) intValue = ReadInt64(ref reader);
            else SkipValue(ref reader);
        }
        return intValue;
    }

    private static long? ReadInt64(ref Utf8JsonReader reader)
    {
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return reader.TryGetInt64(out var number) ? number : null;
            case JsonTokenType.String when !reader.ValueIsEscaped:
                return Utf8Parser.TryParse(reader.ValueSpan, out long parsed, out var used) && used == reader.ValueSpan.Length
                    ? parsed
                    : null;
            case JsonTokenType.String:
                return long.TryParse(reader.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture,
                    out var unescaped) ? unescaped : null;
            default:
                reader.Skip();
                return null;
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader, StringPool strings)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }
        if (reader.ValueIsEscaped || reader.ValueSpan.Length > 256) return strings.Get(reader.GetString());
        // Short unescaped values (ids, event names) are looked up without allocating a string per row.
        Span<char> chars = stackalloc char[256];
        var length = Encoding.UTF8.GetChars(reader.ValueSpan, chars);
        return strings.Get(chars[..length]);
    }

    /// <summary>Moves past the value of the property the reader is on.</summary>
    private static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };
}
