using System.Text.Json;
using Azure.Storage.Queues.Models;
using CustomerAnalysis.Pipeline.Storage;

namespace CustomerAnalysis.Pipeline.Workers;

/// <summary>The trial queue and the completion queue (<see cref="PipelineStorage"/>), with JSON messages.</summary>
public sealed class WorkQueues(PipelineStorage storage)
{
    public Task EnqueueAsync(WorkItem item, CancellationToken cancellationToken = default) =>
        storage.TrialQueue.SendMessageAsync(JsonSerializer.Serialize(item), cancellationToken);

    public Task CompleteAsync(WorkCompletion completion, CancellationToken cancellationToken = default) =>
        storage.CompletionQueue.SendMessageAsync(JsonSerializer.Serialize(completion), cancellationToken);

    /// <summary>Takes the next work item, invisible to other workers for <paramref name="lease"/>; null when the
    /// queue is empty.</summary>
    public async Task<QueueMessage?> ReceiveWorkAsync(TimeSpan lease, CancellationToken cancellationToken)
    {
        var messages = await storage.TrialQueue.ReceiveMessagesAsync(1, lease, cancellationToken);
        return messages.Value.FirstOrDefault();
    }

    /// <summary>Keeps a message invisible for another <paramref name="lease"/>; returns the new pop receipt.</summary>
    public async Task<string> RenewAsync(QueueMessage message, string popReceipt, TimeSpan lease,
        CancellationToken cancellationToken)
    {
        var receipt = await storage.TrialQueue.UpdateMessageAsync(message.MessageId, popReceipt,
            visibilityTimeout: lease, cancellationToken: cancellationToken);
        return receipt.Value.PopReceipt;
    }

    public Task DeleteWorkAsync(QueueMessage message, string popReceipt, CancellationToken cancellationToken) =>
        storage.TrialQueue.DeleteMessageAsync(message.MessageId, popReceipt, cancellationToken);

    public async Task<QueueMessage?> ReceiveCompletionAsync(CancellationToken cancellationToken)
    {
        var messages = await storage.CompletionQueue.ReceiveMessagesAsync(1, TimeSpan.FromSeconds(30), cancellationToken);
        return messages.Value.FirstOrDefault();
    }

    public Task DeleteCompletionAsync(QueueMessage message, CancellationToken cancellationToken) =>
        storage.CompletionQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);

    /// <summary>Messages waiting in the trial queue (approximate, as Azure Storage reports it).</summary>
    public async Task<int> PendingWorkAsync(CancellationToken cancellationToken = default) =>
        (await storage.TrialQueue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;

    public static WorkItem ParseWork(QueueMessage message) => Parse<WorkItem>(message, "work item");

    public static WorkCompletion ParseCompletion(string text) =>
        JsonSerializer.Deserialize<WorkCompletion>(text) ?? throw new JsonException("A completion message holds null.");

    private static T Parse<T>(QueueMessage message, string what) =>
        JsonSerializer.Deserialize<T>(message.Body.ToString())
        ?? throw new JsonException($"Queue message {message.MessageId} holds no {what}.");
}
