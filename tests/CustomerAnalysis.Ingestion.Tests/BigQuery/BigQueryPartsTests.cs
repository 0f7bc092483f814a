using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion.BigQuery;

namespace CustomerAnalysis.Ingestion.Tests.BigQuery;

public class BigQueryPartsTests
{
    [Fact]
    public void Rows_are_decoded_by_schema_including_records_and_repeated_fields()
    {
        var response = JsonDocument.Parse("""
            {"schema":{"fields":[
               {"name":"event_name","type":"STRING","mode":"NULLABLE"},
               {"name":"event_timestamp","type":"INTEGER","mode":"NULLABLE"},
               {"name":"event_params","type":"RECORD","mode":"REPEATED","fields":[
                  {"name":"key","type":"STRING"},
                  {"name":"value","type":"RECORD","fields":[
                     {"name":"string_value","type":"STRING"},{"name":"int_value","type":"INTEGER"},{"name":"double_value","type":"FLOAT"}]}]},
               {"name":"device","type":"RECORD","fields":[{"name":"category","type":"STRING"},{"name":"is_limited_ad_tracking","type":"BOOLEAN"}]},
               {"name":"tags","type":"STRING","mode":"REPEATED"},
               {"name":"ts","type":"TIMESTAMP"}]},
             "rows":[{"f":[
               {"v":"page_view"},
               {"v":"1611187200697136"},
               {"v":[{"v":{"f":[{"v":"ga_session_id"},{"v":{"f":[{"v":null},{"v":"1604890495"},{"v":null}]}}]}},
                     {"v":{"f":[{"v":"price"},{"v":{"f":[{"v":null},{"v":null},{"v":"12.5"}]}}]}}]},
               {"v":{"f":[{"v":"desktop"},{"v":"false"}]}},
               {"v":[]},
               {"v":"1.611187200697136E9"}]}]}
            """).RootElement;

        var schema = BigQueryField.ParseSchema(response.GetProperty("schema"));
        var row = BigQueryRowDecoder.DecodeRow(response.GetProperty("rows")[0], schema);

        Assert.Equal("page_view", row["event_name"]);
        Assert.Equal(1611187200697136L, row["event_timestamp"]);
        var parameters = Assert.IsAssignableFrom<IReadOnlyList<object?>>(row["event_params"]);
        Assert.Equal(2, parameters.Count);
        var first = Assert.IsType<BigQueryRecord>(parameters[0]);
        Assert.Equal("ga_session_id", first["key"]);
        Assert.Equal(1604890495L, Assert.IsType<BigQueryRecord>(first["value"])["int_value"]);
        Assert.Null(Assert.IsType<BigQueryRecord>(first["value"])["string_value"]);
        Assert.Equal(12.5, Assert.IsType<BigQueryRecord>(Assert.IsType<BigQueryRecord>(parameters[1])["value"])["double_value"]);
        var device = Assert.IsType<BigQueryRecord>(row["device"]);
        Assert.Equal(("desktop", false), ((string)device["category"]!, (bool)device["is_limited_ad_tracking"]!));
        Assert.Empty(Assert.IsAssignableFrom<IReadOnlyList<object?>>(row["tags"]));
        Assert.Equal("1.611187200697136E9", row["ts"]);
    }

    [Fact]
    public void A_row_that_does_not_fit_its_schema_is_an_error()
    {
        var schema = BigQueryField.ParseSchema(JsonDocument.Parse("""{"fields":[{"name":"n","type":"INTEGER"}]}""").RootElement);

        Assert.Throws<InvalidDataException>(() =>
            BigQueryRowDecoder.DecodeRow(JsonDocument.Parse("""{"f":[{"v":"x1"}]}""").RootElement, schema));
        Assert.Throws<InvalidDataException>(() =>
            BigQueryRowDecoder.DecodeRow(JsonDocument.Parse("""{"f":[{"v":"1"},{"v":"2"}]}""").RootElement, schema));
    }

    [Fact]
    public void A_wildcard_uri_is_parsed_into_table_and_suffix_range()
    {
        var range = BigQueryTableRange.Parse("bq://my-project.analytics_1.events_*?from=20210101&to=20210131&location=EU");

        Assert.Equal(new BigQueryTableRange("my-project", "analytics_1", "events_*", "20210101", "20210131", null, "EU"), range);
        Assert.True(range.IsWildcard);
    }

    [Theory]
    [InlineData("bq://my-project.ds", "expected project.dataset.table")]
    [InlineData("bq://my-project.ds.events_*", "needs from=yyyymmdd and to=yyyymmdd")]
    [InlineData("bq://my-project.ds.events_*?from=20210132&to=20210201", "from=20210132 is not a yyyymmdd date")]
    [InlineData("bq://my-project.ds.events_*?from=20210201&to=20210101", "is after")]
    [InlineData("bq://my-project.ds.events_20210101?from=20210101&to=20210101", "only apply to a wildcard table")]
    [InlineData("bq://my-project.ds.events_*?from=20210101&to=20210102&limit=5", "unknown parameter 'limit'")]
    [InlineData("bq://my-project.ds.ev`ents?", "not a valid table name")]
    [InlineData("bq://My_Project.ds.events", "not a valid project id")]
    [InlineData("bq://my-project.d-s.events", "not a valid dataset name")]
    public void Bad_uris_are_invalid_input(string uri, string expected)
    {
        var error = Assert.Throws<InvalidInputException>(() => EventSources.Open(uri));

        Assert.Contains(expected, error.Message);
        Assert.StartsWith("Invalid BigQuery URI", error.Message);
    }

    [Fact]
    public void The_base_url_comes_from_the_environment()
    {
        var previous = Environment.GetEnvironmentVariable("CA_BIGQUERY_BASE_URL");
        try
        {
            Environment.SetEnvironmentVariable("CA_BIGQUERY_BASE_URL", "http://127.0.0.1:9050/");
            Assert.Equal(new Uri("http://127.0.0.1:9050/"), EventSourceOptions.FromEnvironment().BigQueryBaseUrl);

            Environment.SetEnvironmentVariable("CA_BIGQUERY_BASE_URL", "not a url");
            Assert.Throws<InvalidInputException>(EventSourceOptions.FromEnvironment);

            Environment.SetEnvironmentVariable("CA_BIGQUERY_BASE_URL", null);
            Assert.Equal(EventSourceOptions.DefaultBigQueryBaseUrl, EventSourceOptions.FromEnvironment().BigQueryBaseUrl);
        }
        finally
        {
            Environment.SetEnvironmentVariable("CA_BIGQUERY_BASE_URL", previous);
        }
    }
}
