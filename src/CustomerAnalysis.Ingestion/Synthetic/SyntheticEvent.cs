namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>A synthetic user's fixed attributes, shared by all their events.</summary>
internal sealed record SyntheticUser(
    string PseudoId,
    long FirstTouchTimestamp,
    string DeviceCategory,
    string OperatingSystem,
    string Browser,
    string Country,
    TrafficSourceShare TrafficSource);

/// <summary>One <c>event_params</c> entry: a string or an integer value.</summary>
internal readonly record struct EventParam(string Key, string? StringValue, long? IntValue);

/// <summary>A product of the synthetic catalogue, carried in <c>items</c>.</summary>
internal sealed record CatalogueItem(string Id, string Name, string Category, double Price);

/// <summary>One generated GA4 event row, as both writers need it.</summary>
internal sealed class SyntheticEvent
{
    public required long Timestamp { get; init; }
    public required string Name { get; init; }
    public required long BundleSequenceId { get; init; }
    public required SyntheticUser User { get; init; }
    public required EventParam[] Params { get; init; }
    public CatalogueItem[] Items { get; init; } = [];
    /// <summary>Purchase only: the order id; revenue is the items' total.</summary>
    public string? TransactionId { get; init; }
    public double Revenue => Items.Sum(i => i.Price);
}
