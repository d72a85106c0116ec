using System.Text.Json;
using System.Text.Json.Serialization;

namespace Observe.DeployMarkers;

/// <summary>started → finished → verified | rolled_back | failed.</summary>
internal enum DeployState { Started, Finished, Verified, RolledBack, Failed }

/// <summary>One deploy of one version of a service to one environment, with everything that happened to it.</summary>
internal sealed class Deploy
{
    public string Id { get; set; } = "";
    public string Service { get; set; } = "";
    public string Env { get; set; } = "";
    public string Version { get; set; } = "";
    public string? Revision { get; set; }
    public string? Branch { get; set; }
    public string By { get; set; } = "";
    public string? Description { get; set; }
    public DeployState State { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>When it reached verified, rolled_back or failed.</summary>
    public DateTimeOffset? EndedAt { get; set; }
    /// <summary>False for a service the config does not declare: recorded and announced, never verified.</summary>
    public bool KnownService { get; set; }
    /// <summary>The environment lock this deploy was forced past, if any.</summary>
    public EnvLock? ForcedPastLock { get; set; }
    /// <summary>Set when this deploy is itself a rollback of that deploy: it is verified but never auto-rolled-back.</summary>
    public string? RollbackOf { get; set; }
    /// <summary>A newer deploy of the same service and environment that ended this one's verification.</summary>
    public string? SupersededBy { get; set; }
    public string? FailReason { get; set; }
    public Verification? Verification { get; set; }
    public RollbackRecord? Rollback { get; set; }
    /// <summary>This deploy's alert (failed verification, rolled back, rollback failed) is firing until a later deploy passes.</summary>
    public bool AlertFiring { get; set; }
}

/// <summary>
/// The verifier's latest judgement. Verdict: pending (window still open), pass, fail, inconclusive (too little data),
/// not_verified (unknown service, or nothing declared to verify), superseded.
/// </summary>
internal sealed record Verification(
    string Verdict, string Reason, DateTimeOffset EvaluatedAt,
    long BaselineFrom, long BaselineUntil, long PostFrom, long PostUntil,
    IReadOnlyList<SliJudgement> Slis, IReadOnlyList<CheckJudgement> Checks);

/// <summary>Numbers behind one SLI's verdict (pass, fail, no_data).</summary>
internal sealed record SliJudgement(
    string Name, string Target, string Direction, string Verdict, string Reason,
    int BaselinePoints, double? BaselineMedian, int PostPoints, double? PostMedian,
    double? Ratio, double MaxRatio, double? Floor, double? U, double? PValue);

internal sealed record CheckJudgement(string Check, string State, string? StateType, string? Output, bool Failed);

internal sealed record RollbackRecord(
    string Action, string? GoodVersion, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, bool Succeeded,
    int? ExitCode, int? HttpStatus, bool TimedOut, string Output, string? Error);

/// <summary>An environment lock: nobody else deploys there until it is released (or they force it).</summary>
internal sealed record EnvLock(string Env, string By, string Reason, DateTimeOffset Since);

internal static class DeployJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new FiniteDouble() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// JSON has no NaN or ∞: such a number is written as null (and read back as NaN), so no number a verdict computes can
    /// make saving a deploy or answering <c>GET /api/deploys</c> throw.
    /// </summary>
    private sealed class FiniteDouble : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}
