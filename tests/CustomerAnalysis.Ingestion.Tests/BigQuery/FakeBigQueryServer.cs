using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CustomerAnalysis.Ingestion.Tests.BigQuery;

/// <summary>A request as the fake received it.</summary>
internal sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query,
    string? Authorization, string Body);

/// <summary>
/// An HTTP server on 127.0.0.1 that stands in for the BigQuery REST API (which cannot be reached from tests): it
/// answers each request with the next scripted (status, JSON body) and records what it was sent.
/// The scripted bodies are the documented QueryResponse / GetQueryResultsResponse / error shapes.
/// </summary>
internal sealed class FakeBigQueryServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Queue<(int Status, string Body)> _answers;
    private readonly Task _serving;

    private readonly Func<ReceivedRequest, (int Status, string Body)>? _handler;

    /// <summary>A fake that computes each answer from the request (e.g. a shard query answered from a table it
    /// holds), for reads whose requests are not known in advance.</summary>
    public FakeBigQueryServer(Func<ReceivedRequest, (int Status, string Body)> handler) : this()
    {
        _handler = handler;
    }

    public FakeBigQueryServer(params (int Status, string Body)[] answers)
    {
        _answers = new Queue<(int, string)>(answers);
        var port = FreePort();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUrl.ToString());
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public Uri BaseUrl { get; }
    public List<ReceivedRequest> Requests { get; } = [];

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return; // stopped
            }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var query = context.Request.QueryString.AllKeys.Where(k => k is not null)
                .ToDictionary(k => k!, k => context.Request.QueryString[k]!);
            var body = await reader.ReadToEndAsync();
            var received = new ReceivedRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, query,
                context.Request.Headers["Authorization"], body);
            lock (Requests) Requests.Add(received);

            var (status, answer) = _handler is not null ? _handler(received)
                : _answers.Count > 0
                ? _answers.Dequeue()
                : (500, """{"error":{"code":500,"message":"fake server: no scripted answer left"}}""");
            var bytes = Encoding.UTF8.GetBytes(answer);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json; charset=UTF-8";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }
}
