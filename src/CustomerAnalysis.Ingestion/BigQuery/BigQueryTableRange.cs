using System.Globalization;
using System.Text.RegularExpressions;
using CustomerAnalysis.Core;

namespace CustomerAnalysis.Ingestion.BigQuery;

/// <summary>
/// A parsed <c>bq://project.dataset.table?from=yyyymmdd&amp;to=yyyymmdd</c>. A wildcard table (<c>events_*</c>) needs
/// both dates, which bound <c>_TABLE_SUFFIX</c>; a single table takes none. Optional: <c>billing_project=</c> (the
/// project that runs the job) and <c>location=</c> (the dataset's location, e.g. US).
/// Names are checked against BigQuery's naming rules because the table name is part of the SQL text.
/// </summary>
public sealed partial record BigQueryTableRange(
    string Project, string Dataset, string Table, string? FromSuffix, string? ToSuffix, string? BillingProject,
    string? Location)
{
    public const string Scheme = "bq://";

    public bool IsWildcard => Table.EndsWith('*');
    public string TableId => $"{Project}.{Dataset}.{Table}";

    public override string ToString() =>
        $"{Scheme}{TableId}" + (IsWildcard ? $"?from={FromSuffix}&to={ToSuffix}" : "");

    public static BigQueryTableRange Parse(string uri)
    {
        if (!uri.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            throw Bad(uri, $"it does not start with {Scheme}");
        var rest = uri[Scheme.Length..];
        var queryAt = rest.IndexOf('?');
        var tablePart = queryAt < 0 ? rest : rest[..queryAt];
        var parameters = ParseQuery(uri, queryAt < 0 ? "" : rest[(queryAt + 1)..]);

        var parts = tablePart.Split('.');
        if (parts.Length != 3) throw Bad(uri, "expected project.dataset.table");
        var (project, dataset, table) = (parts[0], parts[1], parts[2]);
        if (!ProjectName().IsMatch(project)) throw Bad(uri, $"'{project}' is not a valid project id");
        if (!DatasetName().IsMatch(dataset)) throw Bad(uri, $"'{dataset}' is not a valid dataset name");
        if (!TableName().IsMatch(table)) throw Bad(uri, $"'{table}' is not a valid table name (a '*' may only end it)");

        var from = parameters.GetValueOrDefault("from");
        var to = parameters.GetValueOrDefault("to");
        if (table.EndsWith('*'))
        {
            if (from is null || to is null) throw Bad(uri, "a wildcard table needs from=yyyymmdd and to=yyyymmdd");
            CheckDate(uri, "from", from);
            CheckDate(uri, "to", to);
            if (string.CompareOrdinal(from, to) > 0) throw Bad(uri, $"from={from} is after to={to}");
        }
        else if (from is not null || to is not null)
            throw Bad(uri, "from/to only apply to a wildcard table such as events_*");

        var billing = parameters.GetValueOrDefault("billing_project");
        if (billing is not null && !ProjectName().IsMatch(billing)) throw Bad(uri, $"'{billing}' is not a valid project id");
        var location = parameters.GetValueOrDefault("location");
        if (location is not null && !LocationName().IsMatch(location)) throw Bad(uri, $"'{location}' is not a valid location");
        return new BigQueryTableRange(project, dataset, table, from, to, billing, location);
    }

    private static Dictionary<string, string> ParseQuery(string uri, string query)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (name is not ("from" or "to" or "billing_project" or "location"))
                throw Bad(uri, $"unknown parameter '{name}' (known: from, to, billing_project, location)");
            if (!parameters.TryAdd(name, value)) throw Bad(uri, $"parameter '{name}' given twice");
        }
        return parameters;
    }

    private static void CheckDate(string uri, string name, string value)
    {
        if (!DateOnly.TryParseExact(value, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            throw Bad(uri, $"{name}={value} is not a yyyymmdd date");
    }

    private static InvalidInputException Bad(string uri, string problem) =>
        new($"Invalid BigQuery URI {uri}: {problem}");

    [GeneratedRegex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
    private static partial Regex ProjectName();

    [GeneratedRegex("^[A-Za-z0-9_]{1,1024}$")]
    private static partial Regex DatasetName();

    [GeneratedRegex(@"^[A-Za-z0-9_\-]{1,1023}\*?$")]
    private static partial Regex TableName();

    [GeneratedRegex("^[A-Za-z0-9-]{1,64}$")]
    private static partial Regex LocationName();
}
