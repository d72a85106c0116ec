namespace Observe.Checks.Kinds;

/// <summary>One runnable check. Implementations never throw for a failing target: they return a result.</summary>
internal interface ICheck
{
    Task<CheckResult> RunAsync(CancellationToken cancellationToken);
}
