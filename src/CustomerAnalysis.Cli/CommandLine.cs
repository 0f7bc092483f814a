using System.CommandLine;
using CustomerAnalysis.Core;
using Spectre.Console;

namespace CustomerAnalysis.Cli;

/// <summary>How every command runs: parse errors and user-fixable input give one line on stderr and exit 2; any other
/// failure gives one line on stderr and exit 1 (never a stack trace).</summary>
public static class CommandLine
{
    /// <summary>Progress and messages go to stderr, so stdout holds only results (one JSON object with --json). Made
    /// over the stderr of the moment, not once: a host that redirects <see cref="Console.Error"/> between commands
    /// (the tests do) would otherwise have later commands write to the first one's closed writer.</summary>
    public static IAnsiConsole Status => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
    });

    public static async Task<int> InvokeAsync(RootCommand root, string[] args)
    {
        ParseResult parsed;
        try
        {
            parsed = root.Parse(args);
        }
        catch (Exception e)
        {
            // Parsing only looks at the arguments: whatever goes wrong there is about them, and never a crash.
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }
        if (parsed.Errors.Count > 0)
        {
            // Exactly one line, last on stderr, whatever System.CommandLine found (several errors, or a message that
            // lists its choices on lines of their own).
            Console.Error.WriteLine($"error: {ParseErrorLine(parsed.Errors.Select(e => e.Message))}");
            return ExitCodes.BadInput;
        }

        try
        {
            // Our own handler below maps user-fixable input to exit 2; the default one would print a stack trace.
            return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (InvalidInputException e)
        {
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return ExitCodes.Failure;
        }
        catch (Exception e)
        {
            // Not the user's input (storage down, disk full, a bug): still one line, and the documented exit code.
            Console.Error.WriteLine($"error: {OneLine(e.Message)}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>The parse errors as one line. "Required command was not provided" beside an unrecognized token says
    /// the same thing twice (<c>ca frobnicate</c>), so it is dropped when there is anything else to say.</summary>
    public static string ParseErrorLine(IEnumerable<string> messages)
    {
        var lines = messages.Select(m => OneLine(m).TrimEnd('.')).Where(m => m.Length > 0).Distinct().ToList();
        if (lines.Count > 1) lines.RemoveAll(m => m.StartsWith("Required command was not provided", StringComparison.Ordinal));
        return lines.Count == 0 ? "invalid arguments." : string.Join("; ", lines) + ".";
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public static Task WithProgressAsync(string description, Func<Action<string>, Task> work) =>
        WithProgressAsync(description, async report => { await work(report); return true; });

    /// <summary>Runs <paramref name="work"/> with a live progress line on stderr (plain lines when not a terminal).</summary>
    public static async Task<T> WithProgressAsync<T>(string description, Func<Action<string>, Task<T>> work)
    {
        if (Console.IsErrorRedirected)
        {
            // Logs and CI: a plain line at most every few seconds.
            Console.Error.WriteLine(description);
            var last = DateTime.UtcNow;
            return await work(text =>
            {
                if (DateTime.UtcNow - last < TimeSpan.FromSeconds(5)) return;
                last = DateTime.UtcNow;
                Console.Error.WriteLine($"  {text}");
            });
        }

        T result = default!;
        await Status.Status().StartAsync(description, async context =>
        {
            result = await work(text => context.Status($"{description} {Markup.Escape(text)}"));
        });
        return result;
    }
}
