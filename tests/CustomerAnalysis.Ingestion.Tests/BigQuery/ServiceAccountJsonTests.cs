using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CustomerAnalysis.Core;
using CustomerAnalysis.Ingestion.BigQuery;

namespace CustomerAnalysis.Ingestion.Tests.BigQuery;

/// <summary>CA_BIGQUERY_CREDENTIALS_JSON (in Azure a Key Vault reference to the service-account key): the JSON itself,
/// no file. Only service-account keys are taken from configuration.</summary>
public sealed class ServiceAccountJsonTests
{
    private static string ServiceAccount(string type = "service_account")
    {
        using var rsa = RSA.Create(2048);
        return new JsonObject
        {
            ["type"] = type,
            ["project_id"] = "test-project",
            ["private_key_id"] = "key-1",
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = "trainer@test-project.iam.gserviceaccount.com",
            ["client_id"] = "1",
            ["token_uri"] = "https://oauth2.googleapis.com/token",
        }.ToJsonString();
    }

    [Fact]
    public void A_service_account_key_becomes_a_credential()
    {
        Assert.NotNull(GoogleAccessTokenProvider.FromServiceAccountJson(ServiceAccount()));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    public void Anything_else_is_an_error_naming_the_setting(string json)
    {
        var error = Assert.Throws<InvalidInputException>(() => GoogleAccessTokenProvider.FromServiceAccountJson(json));

        Assert.Contains(GoogleAccessTokenProvider.CredentialsJsonVariable, error.Message);
    }

    [Fact]
    public void Another_credential_type_is_refused()
    {
        var error = Assert.Throws<InvalidInputException>(() =>
            GoogleAccessTokenProvider.FromServiceAccountJson(ServiceAccount("external_account")));

        Assert.Contains(GoogleAccessTokenProvider.CredentialsJsonVariable, error.Message);
    }
}
