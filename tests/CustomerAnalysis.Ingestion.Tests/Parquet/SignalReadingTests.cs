using System.Text.Json;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.BigQuery;
using CustomerAnalysis.Ingestion.Tests.BigQuery;
using Parquet;
using Parquet.Serialization;

namespace CustomerAnalysis.Ingestion.Tests.Parquet;

/// <summary>The extra GA4 fields (issue 10 §2) read from Parquet (nested schema), NDJSON and BigQuery: the same
/// values from each, missing and obfuscated values marked as such, nothing read unless asked for.</summary>
public class SignalReadingTests
{
    // The event_params rows are NestedParquetTests' (the same GA4 column names); the signal columns are added here.
    public sealed class WebInfo
    {
        [JsonPropertyName("browser")] public string? Browser { get; set; }
    }

    public sealed class Device
    {
        [JsonPropertyName("category")] public string? Category { get; set; }
        [JsonPropertyName("operating_system")] public string? OperatingSystem { get; set; }
        [JsonPropertyName("web_info")] public WebInfo? WebInfo { get; set; }
    }

    public sealed class Geo
    {
        [JsonPropertyName("country")] public string? Country { get; set; }
    }

    public sealed class TrafficSource
    {
        [JsonPropertyName("source")] public string? Source { get; set; }
        [JsonPropertyName("medium")] public string? Medium { get; set; }
    }

    public sealed class Ecommerce
    {
        [JsonPropertyName("purchase_revenue_in_usd")] public double? PurchaseRevenueInUsd { get; set; }
    }

    public sealed class Item
    {
        [JsonPropertyName("item_category")] public string? ItemCategory { get; set; }
    }

    public sealed class Ga4Event
    {
        [JsonPropertyName("event_timestamp")] public long? EventTimestamp { get; set; }
        [JsonPropertyName("event_name")] public string? EventName { get; set; }
        [JsonPropertyName("event_params")] public List<NestedParquetTests.Param>? EventParams { get; set; }
        [JsonPropertyName("user_pseudo_id")] public string? UserPseudoId { get; set; }
        [JsonPropertyName("device")] public Device? Device { get; set; }
        [JsonPropertyName("geo")] public Geo? Geo { get; set; }
        [JsonPropertyName("traffic_source")] public TrafficSource? TrafficSource { get; set; }
        [JsonPropertyName("platform")] public string? Platform { get; set; }
        [JsonPropertyName("ecommerce")] public Ecommerce? Ecommerce { get; set; }
        [JsonPropertyName("items")] public List<Item>? Items { get; set; }
    }

    private static NestedParquetTests.Param Int(string key, long? value) => new() { Key = key, Value = new NestedParquetTests.ParamValue { IntValue = value } };
    private static NestedParquetTests.Param Text(string key, string? value) => new() { Key = key, Value = new NestedParquetTests.ParamValue { StringValue = value } };

    /// <summary>Four events: real values; obfuscated ones (&lt;Other&gt;, (data deleted)); nulls and absent structs;
    /// a second entry of a key (the first wins) and a query string in the URL.</summary>
    private static Ga4Event[] Events() =>
    [
        new()
        {
            UserPseudoId = "a", EventTimestamp = 10, EventName = "page_view",
            EventParams = [Int("ga_session_id", 1), Int("engagement_time_msec", 1500), Int("ga_session_number", 2),
                Text("page_location", "https://shop.example.com/Google+Redesign/Apparel?q=1"), Text("page_title", "Apparel"),
                Text("source", "google"), Text("medium", "organic"), Int("entrances", 1)],
            Device = new Device { Category = "desktop", OperatingSystem = "Windows", WebInfo = new WebInfo { Browser = "Chrome" } },
            Geo = new Geo { Country = "Canada" },
            TrafficSource = new TrafficSource { Source = "google", Medium = "organic" },
            Platform = "WEB",
            Items = [new Item { ItemCategory = null }, new Item { ItemCategory = "Apparel" }],
        },
        new()
        {
            UserPseudoId = "a", EventTimestamp = 11, EventName = "purchase",
            EventParams = [Int("ga_session_id", 1), Int("engagement_time_msec", 20), Int("engagement_time_msec", 99),
                Text("page_location", "https://shop.example.com/"), Text("page_title", "(data deleted)")],
            Device = new Device { Category = "mobile", OperatingSystem = "<Other>", WebInfo = new WebInfo { Browser = "(data deleted)" } },
            Geo = new Geo { Country = "(not set)" },
            TrafficSource = new TrafficSource { Source = "<Other>", Medium = null },
            Platform = "WEB",
            Ecommerce = new Ecommerce { PurchaseRevenueInUsd = 42.5 },
            Items = [],
        },
        new()
        {
            UserPseudoId = "b", EventTimestamp = 12, EventName = "scroll",
            EventParams = [Int("ga_session_id", 2), Text("page_title", null)],
            Device = null, Geo = null, TrafficSource = null, Platform = null, Ecommerce = null, Items = null,
        },
        new()
        {
            UserPseudoId = "b", EventTimestamp = 13, EventName = "scroll",
            EventParams = [Int("ga_session_id", 2), Text("page_location", "<Other>")],
            Device = new Device { Category = "", OperatingSystem = "iOS", WebInfo = null },
            Geo = new Geo { Country = "Canada" },
            Platform = "IOS",
        },
    ];

    /// <summary>What each field must read to, event by event, as table values (markers by name).</summary>
    private static readonly Dictionary<SignalField, string[]> ExpectedCategories = new()
    {
        [SignalField.DeviceCategory] = ["desktop", "mobile", Signals.MissingToken, Signals.MissingToken],
        [SignalField.OperatingSystem] = ["Windows", Signals.ObfuscatedToken, Signals.MissingToken, "iOS"],
        [SignalField.Browser] = ["Chrome", Signals.ObfuscatedToken, Signals.MissingToken, Signals.MissingToken],
        [SignalField.Country] = ["Canada", Signals.MissingToken, Signals.MissingToken, "Canada"],
        [SignalField.TrafficSource] = ["google", Signals.ObfuscatedToken, Signals.MissingToken, Signals.MissingToken],
        [SignalField.TrafficMedium] = ["organic", Signals.MissingToken, Signals.MissingToken, Signals.MissingToken],
        [SignalField.Platform] = ["WEB", "WEB", Signals.MissingToken, "IOS"],
        [SignalField.PagePath] = ["shop.example.com/Google+Redesign", "shop.example.com", Signals.MissingToken, Signals.ObfuscatedToken],
        [SignalField.PageTitle] = ["Apparel", Signals.ObfuscatedToken, Signals.MissingToken, Signals.MissingToken],
        [SignalField.ParamSource] = ["google", Signals.MissingToken, Signals.MissingToken, Signals.MissingToken],
        [SignalField.ParamMedium] = ["organic", Signals.MissingToken, Signals.MissingToken, Signals.MissingToken],
        [SignalField.ItemCategory] = ["Apparel", Signals.MissingToken, Signals.MissingToken, Signals.MissingToken],
    };

    private static readonly Dictionary<SignalField, float[]> ExpectedNumbers = new()
    {
        [SignalField.EngagementTimeMsec] = [1500, 20, float.NaN, float.NaN],
        [SignalField.GaSessionNumber] = [2, float.NaN, float.NaN, float.NaN],
        [SignalField.Entrances] = [1, float.NaN, float.NaN, float.NaN],
        [SignalField.EcommerceValue] = [float.NaN, 42.5f, float.NaN, float.NaN],
    };

    private static void AssertSignals(EventTable table)
    {
        var signals = Assert.IsType<EventSignals>(table.Signals);
        Assert.Equal(4, table.Count);
        foreach (var (field, expected) in ExpectedCategories)
        {
            var index = signals.Fields.IndexOf(field);
            var values = signals.Values[index];
            Assert.True(expected.SequenceEqual(signals.Categorical(index).ToArray().Select(n => values[n])),
                $"{field}: {string.Join(", ", signals.Categorical(index).ToArray().Select(n => values[n]))}");
            // Markers are never real categories.
            Assert.DoesNotContain(values.Skip(Signals.FirstValue), v => v is "<Other>" or "(data deleted)" or "(not set)" or "");
        }
        foreach (var (field, expected) in ExpectedNumbers)
            Assert.Equal(expected, signals.Numeric(signals.Fields.IndexOf(field)).ToArray());
    }

    [Fact]
    public async Task Parquet_reads_every_signal_from_the_nested_schema_with_markers_for_missing_and_obfuscated_values()
    {
        using var temp = new TempFolder();
        var file = temp.File("signals.parquet");
        await ParquetSerializer.SerializeAsync(Events(), file, new ParquetOptions { RowGroupSize = 3 });

        var table = await EventSources.Open(file, new EventSourceOptions { Signals = Signals.Recommended }).ReadTableAsync();

        AssertSignals(table);
    }

    [Fact]
    public async Task Ndjson_reads_the_same_signals_as_parquet()
    {
        using var temp = new TempFolder();
        var options = new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
        var file = temp.File("events.ndjson", string.Join("\n", Events().Select(e => JsonSerializer.Serialize(e, options))));

        var table = await EventSources.Open(file, new EventSourceOptions { Signals = Signals.Recommended }).ReadTableAsync();

        AssertSignals(table);
    }

    [Fact]
    public async Task Without_signals_nothing_extra_is_read()
    {
        using var temp = new TempFolder();
        var file = temp.File("signals.parquet");
        await ParquetSerializer.SerializeAsync(Events(), file);

        var table = await EventSources.Open(file).ReadTableAsync();
        var some = await EventSources.Open(file, new EventSourceOptions { Signals = Signals.ParseList("country,engagement_time_msec") })
            .ReadTableAsync();

        Assert.Null(table.Signals);
        Assert.Equal([SignalField.EngagementTimeMsec, SignalField.Country], some.Signals!.Fields.Fields);
        Assert.Equal(table.NameIndex.ToArray(), some.NameIndex.ToArray());
        Assert.Equal(table.GaSessionId.ToArray(), some.GaSessionId.ToArray());
    }

    [Fact]
    public void Obfuscated_and_missing_texts_get_their_markers_and_urls_their_bucket()
    {
        Assert.Equal(Signals.Obfuscated, Signals.Marker("<Other>"));
        Assert.Equal(Signals.Obfuscated, Signals.Marker("(data deleted)"));
        Assert.Equal(Signals.Missing, Signals.Marker(" "));
        Assert.Equal(Signals.Missing, Signals.Marker("(not set)"));
        Assert.Equal(-1, Signals.Marker("Chrome"));
        Assert.Equal("shop.googlemerchandisestore.com/Google+Redesign",
            Signals.PageBucket("https://shop.googlemerchandisestore.com/Google+Redesign/Apparel/Mens?x=1#top"));
        Assert.Equal("shop.googlemerchandisestore.com", Signals.PageBucket("https://SHOP.googlemerchandisestore.com/"));
        Assert.Equal("not a url", Signals.PageBucket("not a url?x"));
        Assert.Throws<Core.InvalidInputException>(() => Signals.ParseList("country,shoe_size"));
    }

    [Fact]
    public async Task Bigquery_selects_only_the_configured_signals_and_decodes_them()
    {
        const string schema = """
            {"fields":[
              {"name":"user_pseudo_id","type":"STRING","mode":"NULLABLE"},
              {"name":"event_timestamp","type":"INTEGER","mode":"NULLABLE"},
              {"name":"event_name","type":"STRING","mode":"NULLABLE"},
              {"name":"event_bundle_sequence_id","type":"INTEGER","mode":"NULLABLE"},
              {"name":"ga_session_id","type":"INTEGER","mode":"NULLABLE"},
              {"name":"engagement_time_msec","type":"INTEGER","mode":"NULLABLE"},
              {"name":"device_category","type":"STRING","mode":"NULLABLE"},
              {"name":"country","type":"STRING","mode":"NULLABLE"}]}
            """;
        var page = (200, $$"""
            {"kind":"bigquery#queryResponse","schema":{{schema}},
             "jobReference":{"projectId":"p","jobId":"j","location":"US"},"totalRows":"2",
             "rows":[{"f":[{"v":"u1"},{"v":"100"},{"v":"page_view"},{"v":null},{"v":"5"},{"v":"77"},{"v":"desktop"},{"v":"<Other>"}]},
                     {"f":[{"v":"u1"},{"v":"101"},{"v":"scroll"},{"v":null},{"v":"5"},{"v":null},{"v":null},{"v":"Canada"}]}],
             "jobComplete":true}
            """);
        using var server = new FakeBigQueryServer(page);
        var options = new EventSourceOptions
        {
            BigQueryBaseUrl = server.BaseUrl,
            BigQueryAccessTokens = new FixedToken(),
            BigQueryRetryDelay = TimeSpan.FromMilliseconds(1),
            Signals = Signals.ParseList("device_category,country,engagement_time_msec"),
        };

        var table = await EventSources.Open("bq://my-project.analytics_123.events_20210121", options).ReadTableAsync();

        var sql = JsonDocument.Parse(server.Requests[0].Body).RootElement.GetProperty("query").GetString()!;
        Assert.Contains("device.category AS device_category", sql);
        Assert.Contains("geo.country AS country", sql);
        Assert.Contains("p.key = 'engagement_time_msec'", sql);
        Assert.DoesNotContain("operating_system", sql);
        Assert.DoesNotContain("items", sql);
        var signals = table.Signals!;
        var device = signals.Fields.IndexOf(SignalField.DeviceCategory);
        var country = signals.Fields.IndexOf(SignalField.Country);
        Assert.Equal(["desktop", Signals.MissingToken], signals.Categorical(device).ToArray().Select(n => signals.Values[device][n]));
        Assert.Equal([Signals.ObfuscatedToken, "Canada"], signals.Categorical(country).ToArray().Select(n => signals.Values[country][n]));
        Assert.Equal([77f, float.NaN], signals.Numeric(0).ToArray());

        var shardSql = ((BigQueryEventSource)EventSources.Open("bq://my-project.analytics_123.events_20210121", options)).ForShard(new UserShard(1, 4));
        Assert.Contains("ga_session_id, engagement_time_msec, device_category, country)", ((BigQueryEventSource)shardSql).ShardSql);
    }

    [SharedDataFact]
    public async Task The_real_console_json_download_reads_the_same_signal_fields()
    {
        var table = await EventSources.Open(TestData.Ga4ConsoleJson, new EventSourceOptions { Signals = Signals.Recommended })
            .ReadTableAsync();

        var signals = table.Signals!;
        var device = signals.Fields.IndexOf(SignalField.DeviceCategory);
        var page = signals.Fields.IndexOf(SignalField.PagePath);
        var time = signals.Fields.IndexOf(SignalField.EngagementTimeMsec);
        Assert.Contains("desktop", signals.Values[device]);
        Assert.True(signals.Categorical(page).ToArray().Count(n => n >= Signals.FirstValue) > table.Count / 2);
        Assert.Contains(signals.Numeric(time).ToArray(), v => v > 0);
    }

    private sealed class FixedToken : IAccessTokenProvider
    {
        public Task<string> GetAccessTokenAsync(CancellationToken cancellationToken) => Task.FromResult("test-token");
    }

    [SharedDataFact]
    public async Task The_real_export_fills_the_signals_and_costs_a_bounded_number_of_bytes_per_event()
    {
        var plain = await EventSources.Open(TestData.Ga4Tables).ReadTableAsync();
        var table = await EventSources.Open(TestData.Ga4Tables, new EventSourceOptions { Signals = Signals.Recommended })
            .ReadTableAsync();
        // What the table keeps per event: its columns (int user, long session, long timestamp, long bundle, int name:
        // 32 bytes) and its interned strings (UTF-16 + ~22 bytes of object header each); printed for the report.
        static long StringBytes(IEnumerable<string> strings) => strings.Sum(s => 22L + 2L * s.Length);
        var plainBytes = 32L * plain.Count + StringBytes(plain.Users) + StringBytes(plain.EventNames);
        var tableBytes = 32L * table.Count + StringBytes(table.Users) + StringBytes(table.EventNames)
                         + table.Signals!.ColumnBytes + table.Signals.Values.Sum(StringBytes);
        Console.WriteLine($"kept per event: {(double)plainBytes / plain.Count:0.0} bytes without signals, " +
                          $"{(double)tableBytes / table.Count:0.0} bytes with all {Signals.Recommended.Fields.Count}; " +
                          $"distinct signal values {table.Signals.Values.Sum(v => v.Count):N0}");

        Assert.Equal(385_255, table.Count);
        Assert.Equal(plain.NameIndex.ToArray(), table.NameIndex.ToArray());
        var signals = table.Signals!;
        // Fields the public sample fills on (nearly) every event.
        foreach (var field in new[] { SignalField.DeviceCategory, SignalField.OperatingSystem, SignalField.Browser, SignalField.Country,
                     SignalField.Platform, SignalField.PagePath, SignalField.GaSessionNumber })
        {
            var index = signals.Fields.IndexOf(field);
            var present = Signals.KindOf(field) == SignalKind.Categorical
                ? signals.Categorical(index).ToArray().Count(n => n >= Signals.FirstValue)
                : signals.Numeric(index).ToArray().Count(v => !float.IsNaN(v));
            Assert.True(present > table.Count / 2, $"{field}: only {present:N0} of {table.Count:N0} events have a value");
        }
        // The sample is obfuscated: some values must come out as the marker, not as a category "<Other>".
        var os = signals.Fields.IndexOf(SignalField.OperatingSystem);
        Assert.Contains(Signals.Obfuscated, signals.Categorical(os).ToArray());
        var revenue = signals.Numeric(signals.Fields.IndexOf(SignalField.EcommerceValue)).ToArray();
        Assert.Contains(revenue, v => v > 0);
        // Page buckets stay a small vocabulary (URLs would not).
        Assert.InRange(signals.Values[signals.Fields.IndexOf(SignalField.PagePath)].Count, 3, 2_000);

        var bytesPerEvent = (double)signals.ColumnBytes / table.Count;
        Console.WriteLine($"signal columns: {signals.Fields.Fields.Count} fields, {bytesPerEvent:0.0} bytes per event");
        Assert.True(bytesPerEvent <= 4 * signals.Fields.Fields.Count * 1.01, $"{bytesPerEvent} bytes per event");
    }
}
