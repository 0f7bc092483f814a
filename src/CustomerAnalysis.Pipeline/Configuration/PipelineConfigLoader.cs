using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Preparation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;

namespace CustomerAnalysis.Pipeline.Configuration;

/// <summary>
/// Reads <see cref="PipelineConfig"/> the .NET way, the same in every host (<c>ca serve</c>/<c>ca run</c>, the
/// Functions app, the trial workers). Layers, later wins:
/// <list type="number">
/// <item><c>config/pipeline.json</c> (required) and <c>config/pipeline.local.json</c> beside it (optional, ignored by
/// git: local-only values such as a dev admin key);</item>
/// <item>app settings with platform names (<see cref="AppSettings"/>: <c>RetrainingCron</c>, which the Functions timer
/// also reads as <c>%RetrainingCron%</c>, <c>RetrainingSource</c>, <c>AzureWebJobsStorage</c> and its identity-based
/// <c>__accountName</c>/<c>__clientId</c>/... forms);</item>
/// <item>environment variables <c>CA__section__key</c> (e.g. <c>CA__api__admin_key</c>);</item>
/// <item>command-line <c>section:key=value</c> pairs.</item>
/// </list>
/// The merged configuration is checked against PipelineConfig's JSON names (an unknown key is an error naming the key
/// and where it came from, so a typo is never silently ignored) and materialised with System.Text.Json, which keeps
/// one set of names (the JSON ones) and replaces lists instead of appending to their defaults as the binder would.
/// </summary>
public static class PipelineConfigLoader
{
    public const string EnvironmentPrefix = "CA__";

    /// <summary>App settings whose names the platform or a binding expression fixes, and the config key each sets.</summary>
    public static readonly IReadOnlyDictionary<string, string> AppSettings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["RetrainingCron"] = "retraining:cron",
        ["RetrainingSource"] = "retraining:source",
        ["AzureWebJobsStorage"] = "storage:connection_string",
        ["AzureWebJobsStorage__accountName"] = "storage:account_name",
        ["AzureWebJobsStorage__blobServiceUri"] = "storage:blob_service_uri",
        ["AzureWebJobsStorage__tableServiceUri"] = "storage:table_service_uri",
        ["AzureWebJobsStorage__queueServiceUri"] = "storage:queue_service_uri",
        ["AzureWebJobsStorage__clientId"] = "storage:managed_identity_client_id",
    };

    /// <summary><c>config/pipeline.local.json</c> for <c>config/pipeline.json</c>.</summary>
    public static string LocalFile(string path) => Path.ChangeExtension(Path.GetFullPath(path), ".local.json");

    /// <summary>Loads and validates; <paramref name="environment"/> defaults to this process's variables.</summary>
    /// <exception cref="InvalidInputException">A missing or unreadable file, bad JSON, an unknown key, a bad value.</exception>
    public static PipelineConfig Load(string path, IDictionary? environment = null, IReadOnlyList<string>? commandLine = null)
    {
        var full = Path.GetFullPath(path);
        IConfigurationRoot configuration;
        try
        {
            configuration = Build(full, environment ?? Environment.GetEnvironmentVariables(), commandLine ?? []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read pipeline config {full}: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            throw new InvalidInputException($"Pipeline config {full} is invalid: {e.InnerException?.Message ?? e.Message}", e);
        }
        return Bind(configuration, full);
    }

    public static IConfigurationRoot Build(string path, IDictionary environment, IReadOnlyList<string> commandLine)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var prefixed = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry variable in environment)
        {
            var name = (string)variable.Key;
            if (AppSettings.TryGetValue(name, out var key)) settings[key] = (string?)variable.Value;
            else if (name.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase))
                prefixed[name[EnvironmentPrefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal)] = (string?)variable.Value;
        }
        return new ConfigurationBuilder()
            .AddJsonFile(path, optional: false, reloadOnChange: false)
            .AddJsonFile(LocalFile(path), optional: true, reloadOnChange: false)
            .Add(new NamedSource("app settings (RetrainingCron, RetrainingSource, AzureWebJobsStorage...)", settings))
            .Add(new NamedSource($"environment ({EnvironmentPrefix}...)", prefixed))
            .AddCommandLine(commandLine.ToArray())
            .Build();
    }

    /// <summary>The merged configuration as a <see cref="PipelineConfig"/>, relative paths resolved against the
    /// folder above the config's folder (the repository root for <c>config/pipeline.json</c>).</summary>
    public static PipelineConfig Bind(IConfigurationRoot configuration, string path)
    {
        var json = ObjectToJson(configuration, typeof(PipelineConfig), "", configuration);
        PipelineConfig config;
        try
        {
            config = json.Deserialize<PipelineConfig>() ?? throw new InvalidInputException($"{path} holds null.");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"Pipeline config {path} is invalid: {e.Message}", e);
        }
        // Each task's prepare settings are checked now, not at the first run.
        foreach (var task in new[] { PredictionTask.Events, PredictionTask.Churn })
            config.Models.For(task).PrepareDefaults(PipelineConfig.ModelsSection.KeyOf(task));
        var root = Path.GetDirectoryName(Path.GetDirectoryName(path)) ?? ".";
        return config with
        {
            RootDirectory = root,
            ModelConfigDirectory = Path.GetFullPath(config.ModelConfigDirectory, root),
            Retraining = config.Retraining with
            {
                // Empty (no source configured) stays empty: the retraining job then skips, it never guesses a path.
                Source = config.Retraining.Source.Length == 0 || config.Retraining.Source.Contains("://", StringComparison.Ordinal)
                    ? config.Retraining.Source
                    : Path.GetFullPath(config.Retraining.Source, root),
            },
        };
    }

    /// <summary>A configuration section as the JSON of <paramref name="type"/>: keys checked against its JSON
    /// property names, values converted to the property's JSON kind.</summary>
    private static JsonObject ObjectToJson(IConfiguration section, Type type, string path, IConfigurationRoot root)
    {
        var members = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() == null)
            .Select(p => (Name: p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name, p.PropertyType))
            .ToDictionary(m => m.Name, m => m.PropertyType, StringComparer.OrdinalIgnoreCase);
        var names = members.Keys.ToDictionary(k => k, k => k, StringComparer.OrdinalIgnoreCase);
        var json = new JsonObject();
        foreach (var child in section.GetChildren())
        {
            var key = path + child.Key;
            if (!members.TryGetValue(child.Key, out var memberType))
                throw new InvalidInputException(
                    $"Pipeline config: unknown key '{key}' (from {SourceOf(root, child.Path)}); " +
                    $"known{(path.Length == 0 ? "" : $" in '{path.TrimEnd(':')}'")}: {string.Join(", ", members.Keys)}.");
            json[names[child.Key]] = ValueToJson(child, memberType, key, root);
        }
        return json;
    }

    private static JsonNode? ValueToJson(IConfigurationSection section, Type type, string key, IConfigurationRoot root)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        var hasChildren = section.GetChildren().Any();
        if (ElementType(type) is { } element)
        {
            var items = section.GetChildren()
                .Select(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    ? (Index: index, Section: c)
                    : throw new InvalidInputException($"Pipeline config: '{key}' is a list; '{c.Path}' is not an item of it."))
                .OrderBy(c => c.Index)
                .Select(c => ValueToJson(c.Section, element, $"{key}:{c.Index}", root));
            return new JsonArray(items.ToArray());
        }
        if (IsScalar(type))
        {
            if (hasChildren) throw new InvalidInputException($"Pipeline config: '{key}' takes a value, not a section.");
            return Scalar(section.Value, type, key);
        }
        if (!hasChildren && string.IsNullOrEmpty(section.Value)) return null;
        if (!hasChildren) throw new InvalidInputException($"Pipeline config: '{key}' is a section, not a value.");
        return ObjectToJson(section, type, key + ConfigurationPath.KeyDelimiter, root);
    }

    private static bool IsScalar(Type type) =>
        type == typeof(string) || type == typeof(Uri) || type.IsPrimitive || type.IsEnum || type == typeof(decimal)
        || type == typeof(TimeSpan);

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string)) return null;
        if (type.IsArray) return type.GetElementType();
        return type.IsGenericType && type.GetGenericTypeDefinition() is var definition
               && (definition == typeof(IReadOnlyList<>) || definition == typeof(IList<>) || definition == typeof(List<>)
                   || definition == typeof(IEnumerable<>) || definition == typeof(IReadOnlyCollection<>))
            ? type.GetGenericArguments()[0]
            : null;
    }

    private static JsonValue? Scalar(string? value, Type type, string key)
    {
        if (value == null) return null;
        if (type == typeof(string) || type == typeof(Uri) || type == typeof(TimeSpan) || type.IsEnum) return JsonValue.Create(value);
        if (type == typeof(bool))
            return bool.TryParse(value, out var flag)
                ? JsonValue.Create(flag)
                : throw new InvalidInputException($"Pipeline config: '{key}' must be true or false (got '{value}').");
        return decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? JsonValue.Create(number)
            : throw new InvalidInputException($"Pipeline config: '{key}' must be a number (got '{value}').");
    }

    /// <summary>The layer a key's value came from (the last that has it), for error messages.</summary>
    private static string SourceOf(IConfigurationRoot root, string key)
    {
        foreach (var provider in root.Providers.Reverse())
        {
            var found = provider.TryGet(key, out _) || provider.GetChildKeys([], key).Any();
            if (!found) continue;
            return provider switch
            {
                FileConfigurationProvider file => file.Source.FileProvider is PhysicalFileProvider physical
                    ? Path.Combine(physical.Root, file.Source.Path ?? "")
                    : file.Source.Path ?? "a JSON file",
                NamedProvider named => named.Description,
                _ => "the command line",
            };
        }
        return "configuration";
    }

    private sealed class NamedSource(string description, IDictionary<string, string?> values) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new NamedProvider(description, values);
    }

    private sealed class NamedProvider(string description, IDictionary<string, string?> values) : ConfigurationProvider
    {
        public string Description { get; } = description;

        public override void Load() => Data = new Dictionary<string, string?>(values, StringComparer.OrdinalIgnoreCase);
    }
}
