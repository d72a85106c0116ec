namespace Observe.Common;

/// <summary>One thing wrong with a stage's options, by its key path (e.g. <c>checks.http[2].url</c>). Every options type
/// validates itself into these; the host adds the file, line and column (its own <c>Observe.Host.Config.ConfigProblem</c>).</summary>
public sealed record ConfigProblem(string KeyPath, string Message);
