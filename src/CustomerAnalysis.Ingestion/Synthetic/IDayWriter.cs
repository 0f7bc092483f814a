namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>Writes the rows of one daily table in one format.</summary>
internal interface IDayWriter : IAsyncDisposable
{
    ValueTask WriteAsync(SyntheticEvent e, CancellationToken cancellationToken);
}

/// <summary>Constants of the synthetic web stream.</summary>
internal static class Ga4Export
{
    public const long StreamId = 2_100_450_278;
    public const string ItemBrand = "Google";
}
