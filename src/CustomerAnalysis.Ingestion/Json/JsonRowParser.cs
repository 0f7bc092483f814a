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
    public static SourceRow Parse(ReadOnlySpan<byte> rowJson, StringPool strings, string source, long rowNumber,
        SignalSet? signals = null)
    {
        var wanted = signals is { IsEmpty: false } ? new SignalReader(signals, strings) : null;
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
            else if (reader.ValueTextEquals("event_params"u8)) session = ReadGaSessionId(ref reader, wanted);
            else if (wanted is not null && wanted.TryRead(ref reader)) { }
            else SkipValue(ref reader);
        }
        return new SourceRow(user, timestamp, name, session, bundle, source, rowNumber, wanted?.ToRow());
    }

    /// <summary>
    /// Collects one row's signal fields: top-level columns (<c>platform</c>), one level of struct
    /// (<c>device.category</c>, <c>geo.country</c>, <c>traffic_source.source</c>, <c>ecommerce.*</c>), two levels
    /// (<c>device.web_info.browser</c>), the first <c>items[].item_category</c>, and event params (by key: string,
    /// int, float or double value). Values are kept raw: the event table cleans them.
    /// </summary>
    private sealed class SignalReader
    {
        private readonly SignalSet _set;
        private readonly StringPool _strings;
        private readonly string?[] _categorical;
        private readonly double?[] _numeric;
        private readonly (SignalField Field, byte[] Key)[] _paramKeys;

        public SignalReader(SignalSet set, StringPool strings)
        {
            _paramKeys = set.Fields.Where(f => Signals.ParamKey(f) is not null)
                .Select(f => (f, Encoding.UTF8.GetBytes(Signals.ParamKey(f)!))).ToArray();
            _set = set;
            _strings = strings;
            _categorical = new string?[set.Categorical.Count];
            _numeric = new double?[set.Numeric.Count];
        }

        public SignalRow ToRow() => new(_categorical, _numeric);

        /// <summary>The field (by param key) that a param feeds; null when not wanted.</summary>
        public SignalField? FieldOfParam(ReadOnlySpan<byte> key)
        {
            foreach (var (field, name) in _paramKeys)
                if (key.SequenceEqual(name)) return field;
            return null;
        }

        public void SetParam(SignalField field, string? text, double? number)
        {
            var index = _set.IndexOf(field);
            if (Signals.KindOf(field) == SignalKind.Categorical)
            {
                // The first entry with the key wins, as for ga_session_id.
                _categorical[index] ??= text ?? (number is { } n ? n.ToString(CultureInfo.InvariantCulture) : null);
            }
            else
            {
                _numeric[index] ??= number ?? (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null);
            }
        }

        /// <summary>Reads the property the reader is on when it holds a wanted field; false (nothing read) otherwise.</summary>
        public bool TryRead(ref Utf8JsonReader reader)
        {
            if (reader.ValueTextEquals("platform"u8))
            {
                if (_set.IndexOf(SignalField.Platform) < 0) return false;
                Set(SignalField.Platform, ReadScalar(ref reader, _strings));
                return true;
            }
            if (reader.ValueTextEquals("items"u8))
            {
                if (_set.IndexOf(SignalField.ItemCategory) < 0) return false;
                ReadItems(ref reader);
                return true;
            }
            string prefix;
            if (reader.ValueTextEquals("device"u8)) prefix = "device";
            else if (reader.ValueTextEquals("geo"u8)) prefix = "geo";
            else if (reader.ValueTextEquals("traffic_source"u8)) prefix = "traffic_source";
            else if (reader.ValueTextEquals("ecommerce"u8)) prefix = "ecommerce";
            else return false;
            if (!_set.Fields.Any(f => Signals.ColumnPath(f)?.StartsWith(prefix + ".", StringComparison.Ordinal) == true)) return false;
            ReadStruct(ref reader, prefix);
            return true;
        }

        private void Set(SignalField field, (string? Text, double? Number) value)
        {
            var index = _set.IndexOf(field);
            if (Signals.KindOf(field) == SignalKind.Categorical) _categorical[index] = value.Text;
            else _numeric[index] = value.Number ?? (double.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null);
        }

        private void ReadStruct(ref Utf8JsonReader reader, string path)
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var child = path + "." + reader.GetString();
                var field = _set.Fields.Where(f => Signals.ColumnPath(f) == child).Select(f => (SignalField?)f).FirstOrDefault();
                if (field is { } wanted) Set(wanted, ReadScalar(ref reader, _strings));
                else if (_set.Fields.Any(f => Signals.ColumnPath(f)?.StartsWith(child + ".", StringComparison.Ordinal) == true))
                    ReadStruct(ref reader, child);
                else SkipValue(ref reader);
            }
        }

        private void ReadItems(ref Utf8JsonReader reader)
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                reader.Skip();
                return;
            }
            var index = _set.IndexOf(SignalField.ItemCategory);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("item_category"u8))
                    {
                        var (text, _) = ReadScalar(ref reader, _strings);
                        // The first item with a category wins.
                        _categorical[index] ??= text;
                    }
                    else SkipValue(ref reader);
                }
            }
        }
    }

    /// <summary>A scalar value as text and (when numeric, or a string that parses) as a number; (null, null) for
    /// null or a structure (skipped).</summary>
    private static (string? Text, double? Number) ReadScalar(ref Utf8JsonReader reader, StringPool strings)
    {
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                var text = reader.ValueIsEscaped || reader.ValueSpan.Length > 256 ? strings.Get(reader.GetString()) : Pooled(ref reader, strings);
                return (text, double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null);
            case JsonTokenType.Number:
                var number = reader.GetDouble();
                return (strings.Get(Encoding.UTF8.GetString(reader.ValueSpan)), number);
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip();
                return (null, null);
            default:
                return (null, null);
        }
    }

    private static string Pooled(ref Utf8JsonReader reader, StringPool strings)
    {
        Span<char> chars = stackalloc char[256];
        var length = Encoding.UTF8.GetChars(reader.ValueSpan, chars);
        return strings.Get(chars[..length]);
    }

    /// <summary>The int_value of the first <c>ga_session_id</c> entry of <c>event_params</c> that has one.</summary>
    private static long? ReadGaSessionId(ref Utf8JsonReader reader, SignalReader? wanted = null)
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
            SignalField? signal = null;
            long? intValue = null;
            ParamValue value = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("key"u8))
                {
                    reader.Read();
                    isSessionId = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("ga_session_id"u8);
                    if (wanted is not null && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                        signal = wanted.FieldOfParam(reader.ValueSpan);
                }
                else if (reader.ValueTextEquals("value"u8))
                {
                    if (wanted is null) intValue = ReadIntValue(ref reader);
                    else
                    {
                        value = ReadParamValue(ref reader);
                        intValue = value.Int;
                    }
                }
                else SkipValue(ref reader);
            }
            if (found is null && isSessionId) found = intValue;
            if (signal is { } field) wanted!.SetParam(field, value.Text, value.Int ?? value.Double);
        }
        return found;
    }

    private readonly record struct ParamValue(string? Text, long? Int, double? Double);

    /// <summary>Reads a param's <c>value</c> struct: string_value, int_value and float/double_value.</summary>
    private static ParamValue ReadParamValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return default;
        }
        string? text = null;
        long? intValue = null;
        double? doubleValue = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("int_value"u8)) intValue = ReadInt64(ref reader);
            else if (reader.ValueTextEquals("string_value"u8))
            {
                reader.Read();
                text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
            }
            else if (reader.ValueTextEquals("double_value"u8) || reader.ValueTextEquals("float_value"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var d)) doubleValue ??= d;
                else if (reader.TokenType == JsonTokenType.String
                         && double.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                    doubleValue ??= parsed;
                else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
            }
            else SkipValue(ref reader);
        }
        return new ParamValue(text, intValue, doubleValue);
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
