using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace CustomerAnalysis.Infra.Tests;

/// <summary>
/// The Durable Functions extension the Functions host loads for this app (Microsoft.Azure.WebJobs.Extensions.DurableTask
/// from the WorkerExtensions build), in its own load context, and the checks it makes of host.json's
/// <c>extensions.durableTask</c> when the host creates it: <c>DurableTaskOptions.Validate</c> and
/// <c>AzureStorageOptions.Validate</c>. Its Microsoft.Extensions.* abstractions come from this process (the shared
/// framework), as in the host, so a logger from here can be handed to it.
/// </summary>
internal sealed class DurableExtension
{
    private const string AssemblyFile = "Microsoft.Azure.WebJobs.Extensions.DurableTask.dll";
    private const string Namespace = "Microsoft.Azure.WebJobs.Extensions.DurableTask";

    private static readonly Lazy<DurableExtension> Shared = new(Load);

    private readonly Assembly _newtonsoft;

    private DurableExtension(Assembly extension, Assembly newtonsoft)
    {
        Assembly = extension;
        _newtonsoft = newtonsoft;
    }

    public static DurableExtension Instance => Shared.Value;

    public Assembly Assembly { get; }

    /// <summary>The package version (the assembly version stays 3.0.0.0 across 3.x).</summary>
    public Version Version => Version.Parse(
        Assembly.GetCustomAttribute<AssemblyFileVersionAttribute>()?.Version ?? Assembly.GetName().Version!.ToString());

    private static DurableExtension Load()
    {
        // The extension's build folder: the one that also holds the WebJobs host assemblies it is loaded with (the
        // SDK also copies it, without them, into a nested bin/ of the same build).
        var candidates = Directory.Exists(Paths.FunctionsWorkerExtensions)
            ? Directory.GetFiles(Paths.FunctionsWorkerExtensions, AssemblyFile, SearchOption.AllDirectories)
                .Where(p => File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "Microsoft.Azure.WebJobs.Host.dll")))
                .ToList()
            : [];
        // Not a skip: the Functions project is built before this one, so a missing extension is a broken build.
        var path = candidates.Count == 1
            ? candidates[0]
            : throw new InvalidOperationException(
                $"Expected one {AssemblyFile} beside Microsoft.Azure.WebJobs.Host.dll under {Paths.FunctionsWorkerExtensions}, found {candidates.Count}.");
        var folder = Path.GetDirectoryName(path)!;
        var context = new AssemblyLoadContext("durable-extension");
        context.Resolving += (ctx, name) =>
            Path.Combine(folder, name.Name + ".dll") is var file && File.Exists(file) ? ctx.LoadFromAssemblyPath(file) : null;
        return new DurableExtension(context.LoadFromAssemblyPath(path),
            context.LoadFromAssemblyName(new AssemblyName("Newtonsoft.Json")));
    }

    private Type Type(string name) => Assembly.GetType($"{Namespace}.{name}", throwOnError: true)!;

    /// <summary>What the host does with host.json's <c>extensions.durableTask</c>: binds it to DurableTaskOptions
    /// (IConfiguration binding; here unknown keys are errors too, where the host would ignore a typo), validates it,
    /// then reads <c>storageProvider</c> into AzureStorageOptions (Json.NET) and validates that. Throws the extension's
    /// own exception (unwrapped) on a bad value.</summary>
    public void Validate(IConfigurationSection durableTask, string storageProviderJson)
    {
        var options = Activator.CreateInstance(Type("DurableTaskOptions"))!;
        durableTask.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
        // The host's own resolver of %app setting% names, over the app settings (here: this process's environment).
        var nameResolver = Activator.CreateInstance(
            AssemblyLoadContext.GetLoadContext(Assembly)!.LoadFromAssemblyName(new AssemblyName("Microsoft.Azure.WebJobs.Host"))
                .GetType("Microsoft.Azure.WebJobs.DefaultNameResolver", throwOnError: true)!,
            new ConfigurationBuilder().AddEnvironmentVariables().Build());
        Invoke(options, "Validate", [nameResolver]);

        var storage = Activator.CreateInstance(Type("AzureStorageOptions"))!;
        var known = storage.GetType().GetProperties().Select(p => p.Name).Append("type").ToHashSet(StringComparer.OrdinalIgnoreCase);
        using var document = JsonDocument.Parse(storageProviderJson);
        var unknown = document.RootElement.EnumerateObject().Select(p => p.Name).Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new InvalidOperationException(
                $"durableTask.storageProvider: unknown key(s) {string.Join(", ", unknown)} (the host would ignore them).");
        _newtonsoft.GetType("Newtonsoft.Json.JsonConvert", throwOnError: true)!
            .GetMethod("PopulateObject", [typeof(string), typeof(object)])!
            .Invoke(null, [storageProviderJson, storage]);
        Invoke(storage, "Validate", [NullLogger.Instance]);
    }

    private static void Invoke(object target, string method, object?[] arguments)
    {
        var found = target.GetType().GetMethod(method, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                    ?? throw new MissingMethodException(target.GetType().FullName, method);
        try
        {
            found.Invoke(target, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }
}
