using System.Globalization;
using System.Text.Json;

namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>
/// Writes one daily table as newline-delimited JSON the way <c>bq extract --destination_format=NEWLINE_DELIMITED_JSON</c>
/// does: one object per line, columns in schema order, INT64 values as strings, NULL fields left out, empty
/// repeated fields as <c>[]</c>.
/// </summary>
internal sealed class NdjsonDayWriter : IDayWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly FileStream _file;
    private readonly Utf8JsonWriter _json;
    private readonly string _eventDate;

    public NdjsonDayWriter(string path, string eventDate)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        _json = new Utf8JsonWriter(_file, Options);
        _eventDate = eventDate;
    }

    public ValueTask WriteAsync(SyntheticEvent e, CancellationToken cancellationToken)
    {
        var json = _json;
        json.WriteStartObject();
        json.WriteString("event_date", _eventDate);
        WriteInt64("event_timestamp", e.Timestamp);
        json.WriteString("event_name", e.Name);
        json.WriteStartArray("event_params");
        foreach (var p in e.Params)
        {
            json.WriteStartObject();
            json.WriteString("key", p.Key);
            json.WriteStartObject("value");
            if (p.StringValue is { } text) json.WriteString("string_value", text);
            if (p.IntValue is { } number) WriteInt64("int_value", number);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        if (e.TransactionId is not null) json.WriteNumber("event_value_in_usd", Math.Round(e.Revenue, 2));
        WriteInt64("event_bundle_sequence_id", e.BundleSequenceId);
        json.WriteString("user_pseudo_id", e.User.PseudoId);
        json.WriteStartObject("privacy_info");
        json.WriteString("uses_transient_token", "No");
        json.WriteEndObject();
        json.WriteStartArray("user_properties");
        json.WriteEndArray();
        WriteInt64("user_first_touch_timestamp", e.User.FirstTouchTimestamp);
        json.WriteStartObject("user_ltv");
        json.WriteNumber("revenue", 0.0);
        json.WriteString("currency", "USD");
        json.WriteEndObject();
        json.WriteStartObject("device");
        json.WriteString("category", e.User.DeviceCategory);
        json.WriteString("operating_system", e.User.OperatingSystem);
        json.WriteString("is_limited_ad_tracking", "No");
        json.WriteStartObject("web_info");
        json.WriteString("browser", e.User.Browser);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteStartObject("geo");
        json.WriteString("country", e.User.Country);
        json.WriteEndObject();
        json.WriteStartObject("traffic_source");
        json.WriteString("medium", e.User.TrafficSource.Medium);
        json.WriteString("name", e.User.TrafficSource.Name);
        json.WriteString("source", e.User.TrafficSource.Source);
        json.WriteEndObject();
        WriteInt64("stream_id", Ga4Export.StreamId);
        json.WriteString("platform", "WEB");
        json.WriteStartObject("ecommerce");
        if (e.TransactionId is not null)
        {
            WriteInt64("total_item_quantity", e.Items.Length);
            json.WriteNumber("purchase_revenue_in_usd", Math.Round(e.Revenue, 2));
            json.WriteNumber("purchase_revenue", Math.Round(e.Revenue, 2));
            WriteInt64("unique_items", e.Items.Select(i => i.Id).Distinct().Count());
            json.WriteString("transaction_id", e.TransactionId);
        }
        json.WriteEndObject();
        json.WriteStartArray("items");
        foreach (var item in e.Items)
        {
            json.WriteStartObject();
            json.WriteString("item_id", item.Id);
            json.WriteString("item_name", item.Name);
            json.WriteString("item_brand", Ga4Export.ItemBrand);
            json.WriteString("item_category", item.Category);
            json.WriteNumber("price_in_usd", item.Price);
            json.WriteNumber("price", item.Price);
            WriteInt64("quantity", 1);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        _file.WriteByte((byte)'\n');
        json.Reset();
        return ValueTask.CompletedTask;
    }

    private void WriteInt64(string name, long value) =>
        _json.WriteString(name, value.ToString(CultureInfo.InvariantCulture));

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}
