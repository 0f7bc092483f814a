using System.Globalization;
using System.Text.Json;
using CustomerAnalysis.Core;

namespace CustomerAnalysis.Ingestion.BigQuery;

/// <summary>A column of a BigQuery result schema (<c>TableFieldSchema</c>): RECORD columns have sub-fields.</summary>
public sealed record BigQueryField(string Name, string Type, bool IsRepeated, IReadOnlyList<BigQueryField> Fields)
{
    public bool IsRecord => Type is "RECORD" or "STRUCT";

    /// <summary>Reads <c>{"fields":[{"name","type","mode","fields"}]}</c>.</summary>
    public static IReadOnlyList<BigQueryField> ParseSchema(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("fields", out var fields)
            || fields.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("BigQuery result schema has no fields array");
        return fields.EnumerateArray().Select(ParseField).ToArray();
    }

    private static BigQueryField ParseField(JsonElement field)
    {
        var name = field.GetProperty("name").GetString() ?? throw new InvalidDataException("schema field without a name");
        var type = field.GetProperty("type").GetString() ?? throw new InvalidDataException($"schema field {name} has no type");
        var repeated = field.TryGetProperty("mode", out var mode) && mode.GetString() == "REPEATED";
        var children = field.TryGetProperty("fields", out var sub) && sub.ValueKind == JsonValueKind.Array
            ? sub.EnumerateArray().Select(ParseField).ToArray()
            : [];
        return new BigQueryField(name, type, repeated, children);
    }
}

/// <summary>A decoded RECORD (or a whole row): values in schema order, addressable by column name.</summary>
public sealed class BigQueryRecord(IReadOnlyList<BigQueryField> fields, object?[] values)
{
    public IReadOnlyList<BigQueryField> Fields { get; } = fields;
    public IReadOnlyList<object?> Values { get; } = values;

    public object? this[string name]
    {
        get
        {
            for (var i = 0; i < Fields.Count; i++)
                if (Fields[i].Name == name) return Values[i];
            throw new KeyNotFoundException($"no column {name}");
        }
    }
}

/// <summary>
/// Decodes rows of the REST API's tabledata form, <c>{"f":[{"v":value}, ...]}</c>, by their schema: scalars come as
/// strings (INTEGER/INT64 → long, FLOAT/FLOAT64/NUMERIC → double, BOOLEAN/BOOL → bool, anything else → the string
/// as sent, e.g. TIMESTAMP as epoch seconds), RECORD as a nested <c>{"f":[...]}</c> (→ <see cref="BigQueryRecord"/>),
/// REPEATED as an array of <c>{"v":...}</c> (→ <c>IReadOnlyList&lt;object?&gt;</c>), NULL as JSON null (→ null).
/// </summary>
public static class BigQueryRowDecoder
{
    public static BigQueryRecord DecodeRow(JsonElement row, IReadOnlyList<BigQueryField> fields)
    {
        if (row.ValueKind != JsonValueKind.Object || !row.TryGetProperty("f", out var cells) || cells.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException("BigQuery row is not of the form {\"f\":[...]}");
        if (cells.GetArrayLength() != fields.Count)
            throw new InvalidDataException($"BigQuery row has {cells.GetArrayLength()} cells for {fields.Count} schema fields");
        var values = new object?[fields.Count];
        var i = 0;
        foreach (var cell in cells.EnumerateArray())
        {
            values[i] = DecodeField(CellValue(cell), fields[i]);
            i++;
        }
        return new BigQueryRecord(fields, values);
    }

    private static object? DecodeField(JsonElement value, BigQueryField field)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (!field.IsRepeated) return DecodeSingle(value, field);
        if (value.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"BigQuery column {field.Name} is REPEATED but its value is not an array");
        return value.EnumerateArray().Select(item => DecodeSingle(CellValue(item), field)).ToArray();
    }

    private static object? DecodeSingle(JsonElement value, BigQueryField field)
    {
        if (value.ValueKind == JsonValueKind.Null) return null;
        if (field.IsRecord) return DecodeRow(value, field.Fields);
        var text = value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new InvalidDataException($"BigQuery column {field.Name} ({field.Type}) holds a JSON {value.ValueKind}, expected a string");
        return field.Type switch
        {
            "INTEGER" or "INT64" => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                ? l
                : throw new InvalidDataException($"BigQuery column {field.Name}: '{text}' is not an INT64"),
            "FLOAT" or "FLOAT64" or "NUMERIC" or "BIGNUMERIC" => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
            "BOOLEAN" or "BOOL" => bool.Parse(text),
            _ => text,
        };
    }

    private static JsonElement CellValue(JsonElement cell) =>
        cell.ValueKind == JsonValueKind.Object && cell.TryGetProperty("v", out var v)
            ? v
            : throw new InvalidDataException("BigQuery cell is not of the form {\"v\":...}");
}
