using System.Net;
using System.Net.Sockets;
using System.Text;
using Observe.Storage.Sinks;
using Observe.Storage.Sinks.Spool;
using Observe.TestSupport;

namespace Observe.Storage.Tests;

public class CarbonTcpTargetTests
{
    [Fact]
    public async Task A_server_that_closed_without_reading_gets_the_recent_records_again_on_the_new_connection()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var target = new CarbonTcpTarget("127.0.0.1", port);

        Assert.Equal(DeliveryStatus.Delivered, (await target.DeliverAsync("a 1 1\n"u8.ToArray(), default)).Status);
        using (var first = await listener.AcceptTcpClientAsync())
            first.Client.Close(); // a carbon stopping: the bytes sat in its socket, never read

        var second = listener.AcceptTcpClientAsync();
        DeliveryOutcome outcome = default;
        // The close is noticed before the next write, at the latest on the write after.
        await Poll.UntilAsync(async () =>
        {
            outcome = await target.DeliverAsync("b 2 2\n"u8.ToArray(), default);
            return second.IsCompleted;
        }, TimeSpan.FromSeconds(10), "reconnect");
        Assert.Equal(DeliveryStatus.Delivered, outcome.Status);
        using var conn = await second;
        var stream = conn.GetStream();
        var got = new StringBuilder();
        var buf = new byte[256];
        await Poll.UntilAsync(async () =>
        {
            var n = await stream.ReadAsync(buf);
            got.Append(Encoding.ASCII.GetString(buf, 0, n));
            return got.ToString().EndsWith("b 2 2\n");
        }, TimeSpan.FromSeconds(10), "lines on the new connection");
        Assert.StartsWith("a 1 1\n", got.ToString());
    }

    [Fact]
    public async Task No_server_is_retry_later()
    {
        using var target = new CarbonTcpTarget("127.0.0.1", FreePort.Get());
        var outcome = await target.DeliverAsync("a 1 1\n"u8.ToArray(), default);
        Assert.Equal(DeliveryStatus.RetryLater, outcome.Status);
    }
}
