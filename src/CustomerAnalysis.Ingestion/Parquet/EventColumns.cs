using CustomerAnalysis.Core;
using Parquet.Schema;

namespace CustomerAnalysis.Ingestion.Parquet;

/// <summary>The leaf columns of a GA4 Parquet export that the pipeline reads; nothing else is decoded.</summary>
internal sealed record EventColumns(
    DataField UserPseudoId,
    DataField EventTimestamp,
    DataField EventName,
    DataField? EventBundleSequenceId,
    DataField ParamKey,
    DataField ParamIntValue)
{
    /// <summary>
    /// Finds the columns by path. <c>event_params</c> leaves are matched by their first and last path parts so that
    /// both the standard 3-level LIST (<c>event_params/list/element/key</c>) and older 2-level forms are accepted.
    /// A file without one of the required columns is not a GA4 export: that is an input error, not a row rejection.
    /// </summary>
    public static EventColumns Find(ParquetSchema schema, string path)
    {
        var fields = schema.GetDataFields();
        DataField? Flat(string name) => fields.FirstOrDefault(f => f.Path.ToString() == name);
        DataField? Param(params string[] tail) => fields.FirstOrDefault(f =>
        {
            var parts = f.Path.ToList();
            return parts.Count > tail.Length && parts[0] == "event_params" && f.MaxRepetitionLevel == 1
                   && parts.TakeLast(tail.Length).SequenceEqual(tail);
        });

        DataField Require(DataField? field, string name, Type clrType)
        {
            if (field is null)
                throw new InvalidInputException($"Parquet file {path} is not a GA4 export: it has no column {name}");
            if (field.ClrType != clrType || field.MaxRepetitionLevel > (name.StartsWith("event_params", StringComparison.Ordinal) ? 1 : 0))
                throw new InvalidInputException(
                    $"Parquet file {path}: column {name} holds {Describe(field)}, expected {(clrType == typeof(long) ? "INT64" : "STRING")}");
            return field;
        }

        var bundle = Flat("event_bundle_sequence_id");
        return new EventColumns(
            Require(Flat("user_pseudo_id"), "user_pseudo_id", typeof(ReadOnlyMemory<char>)),
            Require(Flat("event_timestamp"), "event_timestamp", typeof(long)),
            Require(Flat("event_name"), "event_name", typeof(ReadOnlyMemory<char>)),
            bundle is null ? null : Require(bundle, "event_bundle_sequence_id", typeof(long)),
            Require(Param("key"), "event_params key", typeof(ReadOnlyMemory<char>)),
            Require(Param("value", "int_value"), "event_params value.int_value", typeof(long)));
    }

    private static string Describe(DataField field) =>
        (field.ClrType == typeof(ReadOnlyMemory<char>) ? "STRING" : field.ClrType.Name) +
        (field.MaxRepetitionLevel > 0 ? " (repeated)" : "");
}
