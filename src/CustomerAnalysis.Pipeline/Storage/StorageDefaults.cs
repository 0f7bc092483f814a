namespace CustomerAnalysis.Pipeline;

public static class StorageDefaults
{
    /// <summary>Azurite on 127.0.0.1:10000-10002 with its well-known development account.</summary>
    public const string AzuriteConnectionString = "UseDevelopmentStorage=true";
}
