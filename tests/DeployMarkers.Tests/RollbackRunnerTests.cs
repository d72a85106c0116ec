using System.Net;
using System.Text.Json;
using Observe.DeployMarkers.Rollback;
using Observe.TestSupport;

namespace Observe.DeployMarkers.Tests;

/// <summary>Real commands and a real HTTP listener.</summary>
public class RollbackRunnerTests
{
    private static readonly RollbackRequest Request = new("d-1", "shop", "prod", "v2; rm -rf /", "v1", "errors 5×");

    [Fact]
    public async Task Command_gets_values_through_the_environment_and_its_output_is_recorded()
    {
        var dir = Repo.TempDir("rollback");
        var file = Path.Combine(dir, "rolled-back");
        var script = Path.Combine(dir, "rollback.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\nprintf '%s|%s|%s|%s|%s|%s' \"$OBSERVE_SERVICE\" \"$OBSERVE_ENV\" \"$OBSERVE_BAD_VERSION\" \"$OBSERVE_GOOD_VERSION\" \"$OBSERVE_ROLLBACK_OF\" \"$EXTRA\" > \"$1\"\necho rolled back\necho warn >&2\nexit 0\n");
        var r = await new RollbackRunner(TimeProvider.System).RunAsync(new RollbackOptions { Command = ["/bin/sh", script, file], Environment = new() { ["EXTRA"] = "x" } }, Request, TimeSpan.FromSeconds(30), default);
        Assert.True(r.Succeeded, r.Error);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("shop|prod|v2; rm -rf /|v1|d-1|x", await File.ReadAllTextAsync(file));
        Assert.Contains("rolled back", r.Output);
        Assert.Contains("warn", r.Output);
    }

    [Fact]
    public async Task Failing_missing_and_hanging_commands_are_recorded_as_failures()
    {
        var runner = new RollbackRunner(TimeProvider.System);
        var fail = await runner.RunAsync(new RollbackOptions { Command = ["/bin/sh", "-c", "echo nope; exit 3"] }, Request, TimeSpan.FromSeconds(30), default);
        Assert.False(fail.Succeeded);
        Assert.Equal(3, fail.ExitCode);
        Assert.Equal("exit code 3", fail.Error);

        var missing = await runner.RunAsync(new RollbackOptions { Command = ["/nonexistent/rollback"] }, Request, TimeSpan.FromSeconds(30), default);
        Assert.False(missing.Succeeded);
        Assert.NotNull(missing.Error);

        var sw = System.Diagnostics.Stopwatch.StartNew();
        var hang = await runner.RunAsync(new RollbackOptions { Command = ["/bin/sh", "-c", "sleep 60 & sleep 60"] }, Request, TimeSpan.FromMilliseconds(500), default);
        Assert.False(hang.Succeeded);
        Assert.True(hang.TimedOut);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Webhook_gets_a_json_post()
    {
        var port = FreePort.Get();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = Task.Run(async () =>
        {
            var ctx = await listener.GetContextAsync();
            var body = await new StreamReader(ctx.Request.InputStream).ReadToEndAsync();
            var auth = ctx.Request.Headers["Authorization"];
            ctx.Response.StatusCode = 202;
            await ctx.Response.OutputStream.WriteAsync("queued"u8.ToArray());
            ctx.Response.Close();
            return (body, auth);
        });
        var r = await new RollbackRunner(TimeProvider.System).RunAsync(
            new RollbackOptions { Webhook = $"http://127.0.0.1:{port}/rollback", Headers = new() { ["Authorization"] = "Bearer s3cret" } }, Request, TimeSpan.FromSeconds(30), default);
        var (json, authHeader) = await received;
        Assert.True(r.Succeeded, r.Error);
        Assert.Equal(202, r.HttpStatus);
        Assert.Equal("queued", r.Output);
        Assert.Equal("Bearer s3cret", authHeader);
        var doc = JsonDocument.Parse(json).RootElement;
        Assert.Equal("v1", doc.GetProperty("goodVersion").GetString());
        Assert.Equal("v2; rm -rf /", doc.GetProperty("badVersion").GetString());
    }
}
