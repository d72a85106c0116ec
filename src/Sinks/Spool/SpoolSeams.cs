using System.Buffers;
using Observe.Collector;
using Observe.Common;

namespace Observe.Storage.Sinks.Spool;

// The contract between the disk spool and the external sinks that sit behind it. Every external
// sink is: an encoder (batch → one spool record, already in the wire format the target takes),
// a DiskSpool (durable, ordered, CRC per record), and a target that delivers one record.
// A batch is acknowledged to the collector once its record is in the spool; the spool's
// delivery loop hands records to the target in order and removes them only when delivered.

/// <summary>Turns one metric flush into one spool record in the target's wire format.</summary>
internal interface IMetricRecordEncoder
{
    void Encode(MetricBatch batch, IBufferWriter<byte> output);

    /// <summary>True for the carbon wire formats: tags go out in the client's order, as Etsy statsd sends them.</summary>
    bool KeepsClientTagOrder => false;
}

/// <summary>Turns one batch of log events into one spool record in the target's wire format.</summary>
internal interface ILogRecordEncoder
{
    void Encode(IReadOnlyList<LogEvent> events, IBufferWriter<byte> output);
}

internal enum DeliveryStatus
{
    /// <summary>All of the record was accepted; the spool drops it.</summary>
    Delivered,
    /// <summary>Nothing was accepted (connection refused, 5xx, 429…); retry the same record after backoff.</summary>
    RetryLater,
    /// <summary>Part was accepted: retry only <see cref="DeliveryOutcome.Remaining"/> (e.g. Elasticsearch per-item 429s).</summary>
    RetryRemaining,
    /// <summary>The target will never accept it (400 on a bad line): counted, written to the dead-letter file, dropped.</summary>
    Rejected,
}

internal readonly record struct DeliveryOutcome(DeliveryStatus Status, ReadOnlyMemory<byte> Remaining = default, string? Error = null)
{
    public static DeliveryOutcome Ok => new(DeliveryStatus.Delivered);
    public static DeliveryOutcome Retry(string error) => new(DeliveryStatus.RetryLater, default, error);
    public static DeliveryOutcome Reject(string error) => new(DeliveryStatus.Rejected, default, error);

    /// <summary>An HTTP answer as an outcome by the one policy every sink and notifier shares (<see cref="EgressPolicy"/>),
    /// with the status, reason and the start of the body as the error.</summary>
    public static async ValueTask<DeliveryOutcome> FromHttpAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var outcome = EgressPolicy.Classify(response.StatusCode);
        if (outcome == EgressOutcome.Delivered) return Ok;
        var error = $"{(int)response.StatusCode} {response.ReasonPhrase}: {EgressPolicy.Snippet(await response.Content.ReadAsStringAsync(ct))}";
        return outcome == EgressOutcome.Retry ? Retry(error) : Reject(error);
    }
}

/// <summary>Delivers one spool record to an external server. Exceptions count as <see cref="DeliveryStatus.RetryLater"/>.</summary>
internal interface ISpoolTarget
{
    string Name { get; }
    ValueTask<DeliveryOutcome> DeliverAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken);
}
