using System.Net.Sockets;
using Azure;

namespace CustomerAnalysis.Pipeline.Storage;

/// <summary>Tells a storage account that is down, unreachable or not answering (what a route answers 503 for) from
/// the errors that are answers (a 404, a 409 conflict, which callers handle).</summary>
public static class StorageOutage
{
    public static bool Is(Exception e) => e switch
    {
        // Status 0: no HTTP answer at all (refused, reset); 5xx: the service failed or is busy; 408: it timed out.
        RequestFailedException failed => failed.Status is 0 or 408 or >= 500,
        // The SDK's retries give up with every try's error; the Durable client wraps its own.
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(Is),
        // A deadline or the SDK's network timeout (the request's own abort has no one left to answer).
        OperationCanceledException or TimeoutException => true,
        HttpRequestException or SocketException or IOException => true,
        _ => e.InnerException is { } inner && Is(inner),
    };
}
