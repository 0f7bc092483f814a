using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace CustomerAnalysis.Infra.Tests;

/// <summary>host.json against the Durable extension the Functions build ships: the host validates these options when
/// it creates the extension, and a bad value there means no durable function runs in Azure.</summary>
public sealed class HostJsonTests
{
    private static void ValidateHostJson(string json)
    {
        var file = Path.Combine(Path.GetTempPath(), $"host-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        try
        {
            var configuration = new ConfigurationBuilder().AddJsonFile(file).Build();
            var durableTask = configuration.GetSection("extensions:durableTask");
            Assert.True(durableTask.Exists(), "host.json has no extensions.durableTask section.");
            var storageProvider = JsonNode.Parse(json)!["extensions"]!["durableTask"]!["storageProvider"]!.ToJsonString();
            DurableExtension.Instance.Validate(durableTask, storageProvider);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Variant(string section, string key, JsonNode? value)
    {
        var root = JsonNode.Parse(File.ReadAllText(Paths.HostJson))!;
        var target = section.Split('.').Aggregate(root, (node, name) => node[name]!);
        target[key] = value;
        return root.ToJsonString();
    }

    [Fact]
    public void The_shipped_extension_is_the_one_this_check_was_written_for()
    {
        // Validate's rules (and the types reached by reflection) belong to the 3.x extension.
        Assert.Equal(3, DurableExtension.Instance.Version.Major);
        Assert.True(DurableExtension.Instance.Version >= new Version(3, 18), $"Durable extension {DurableExtension.Instance.Version}");
    }

    [Fact]
    public void The_committed_host_json_passes_the_extension_validation()
    {
        ValidateHostJson(File.ReadAllText(Paths.HostJson));
    }

    [Theory]
    // The value host.json had before: the extension refuses it and no durable function starts.
    [InlineData("extensions.durableTask.storageProvider", "controlQueueVisibilityTimeout", "\"00:00:30\"", "ControlQueueVisibilityTimeout must be between 1 and 60 minutes.")]
    [InlineData("extensions.durableTask.storageProvider", "controlQueueVisibilityTimeout", "\"02:00:00\"", "ControlQueueVisibilityTimeout must be between 1 and 60 minutes.")]
    [InlineData("extensions.durableTask.storageProvider", "partitionCount", "17", "PartitionCount must be an integer value between 1 and 16.")]
    [InlineData("extensions.durableTask.storageProvider", "controlQueueBufferThreshold", "0", "ControlQueueBufferThreshold must be between 1 and 1000.")]
    [InlineData("extensions.durableTask", "maxConcurrentActivityFunctions", "0", "MaxConcurrentActivityFunctions must be a positive integer value.")]
    // A typo the host would silently ignore (the old value then still applies) is refused here.
    [InlineData("extensions.durableTask.storageProvider", "controlQueueVisibilityTimout", "\"00:02:00\"", "controlQueueVisibilityTimout")]
    [InlineData("extensions.durableTask", "maxConcurentActivityFunctions", "4", "maxConcurentActivityFunctions")]
    public void A_bad_value_fails_with_the_extension_message(string section, string key, string value, string expected)
    {
        var json = Variant(section, key, JsonNode.Parse(value));

        var error = Assert.ThrowsAny<Exception>(() => ValidateHostJson(json));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Function_timeout_is_set_and_bounded()
    {
        // Flex Consumption allows any; a bounded value still ends a stuck activity. Trials run on the workers.
        var root = JsonNode.Parse(File.ReadAllText(Paths.HostJson))!;
        var timeout = TimeSpan.Parse(root["functionTimeout"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(timeout, TimeSpan.FromMinutes(10), TimeSpan.FromHours(4));
    }
}
