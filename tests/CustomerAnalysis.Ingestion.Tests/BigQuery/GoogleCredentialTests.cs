using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion.BigQuery;
using Google.Apis.Auth.OAuth2;

namespace CustomerAnalysis.Ingestion.Tests.BigQuery;

/// <summary>Google's default-credential lookup probes the metadata server from any machine: it may only run when a
/// credential file is there or running on Google Cloud is configured. These never let it run for real.</summary>
public class GoogleCredentialTests
{
    private sealed class RecordingLookup
    {
        public int Calls;

        public Task<GoogleCredential> LookupAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            // What Google's lookup throws when nothing is found; the test never lets it reach the network.
            throw new InvalidOperationException("lookup reached");
        }
    }

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public async Task With_no_credentials_and_not_on_google_cloud_it_fails_at_once_naming_the_variable_and_asks_nothing()
    {
        using var home = new TempFolder();
        var lookup = new RecordingLookup();
        var provider = new GoogleAccessTokenProvider(onGoogleCloud: false, Environment(("HOME", home.Path)), lookup.LookupAsync);

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => provider.GetAccessTokenAsync(CancellationToken.None));

        Assert.Contains("GOOGLE_APPLICATION_CREDENTIALS", error.Message);
        Assert.Contains("CA_BIGQUERY_ON_GCE", error.Message);
        Assert.Equal(0, lookup.Calls);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}"); // no probe, no timeout waited out
    }

    [Fact]
    public async Task A_credentials_variable_naming_a_missing_file_fails_naming_the_file()
    {
        var lookup = new RecordingLookup();
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.json");
        var provider = new GoogleAccessTokenProvider(onGoogleCloud: true, Environment(("GOOGLE_APPLICATION_CREDENTIALS", missing)), lookup.LookupAsync);

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => provider.GetAccessTokenAsync(CancellationToken.None));

        Assert.Contains(missing, error.Message);
        Assert.Equal(0, lookup.Calls);
    }

    [Theory]
    [InlineData("variable")]
    [InlineData("gcloud")]
    [InlineData("google-cloud")]
    public async Task The_lookup_runs_only_with_a_credential_file_or_on_google_cloud(string configured)
    {
        using var folder = new TempFolder();
        var file = folder.File("gcloud/application_default_credentials.json", "{}");
        var lookup = new RecordingLookup();
        var environment = configured switch
        {
            "variable" => Environment(("GOOGLE_APPLICATION_CREDENTIALS", file)),
            "gcloud" => Environment(("CLOUDSDK_CONFIG", Path.GetDirectoryName(file)!)),
            _ => Environment(("HOME", folder.Path + "/nothing-here")),
        };
        var provider = new GoogleAccessTokenProvider(onGoogleCloud: configured == "google-cloud", environment, lookup.LookupAsync);

        await Assert.ThrowsAsync<InvalidInputException>(() => provider.GetAccessTokenAsync(CancellationToken.None));

        Assert.Equal(1, lookup.Calls);
    }

    [Fact]
    public async Task A_bigquery_read_without_credentials_fails_before_any_connection()
    {
        // The BigQuery API "lives" on a loopback listener: a connection to it would be visible here.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var home = new TempFolder();
            var options = new EventSourceOptions
            {
                BigQueryBaseUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"),
                BigQueryAccessTokens = new GoogleAccessTokenProvider(false, Environment(("HOME", home.Path)), new RecordingLookup().LookupAsync),
                BigQueryMaxAttempts = 1,
            };

            var error = await Assert.ThrowsAsync<InvalidInputException>(() =>
                EventSources.Open("bq://my-project.analytics_1.events_20210101", options).ReadTableAsync());

            Assert.Contains("GOOGLE_APPLICATION_CREDENTIALS", error.Message);
            Assert.False(listener.Pending());
        }
        finally
        {
            listener.Stop();
        }
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("1", true)]
    [InlineData("false", false)]
    public void CA_BIGQUERY_ON_GCE_turns_the_metadata_server_on(string value, bool expected)
    {
        var before = System.Environment.GetEnvironmentVariable("CA_BIGQUERY_ON_GCE");
        try
        {
            System.Environment.SetEnvironmentVariable("CA_BIGQUERY_ON_GCE", value);
            Assert.Equal(expected, EventSourceOptions.FromEnvironment().BigQueryOnGoogleCloud);
            System.Environment.SetEnvironmentVariable("CA_BIGQUERY_ON_GCE", null);
            Assert.False(EventSourceOptions.FromEnvironment().BigQueryOnGoogleCloud);
            System.Environment.SetEnvironmentVariable("CA_BIGQUERY_ON_GCE", "yes please");
            Assert.Throws<InvalidInputException>(EventSourceOptions.FromEnvironment);
        }
        finally
        {
            System.Environment.SetEnvironmentVariable("CA_BIGQUERY_ON_GCE", before);
        }
    }
}
