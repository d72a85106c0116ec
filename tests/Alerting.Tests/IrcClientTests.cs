using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Observe.Alerting.Notifiers;
using Observe.TestSupport;

namespace Observe.Alerting.Tests;

/// <summary>The IRC client against a scripted server: registration, nick clash, NickServ, JOIN, token bucket, line limit.</summary>
public class IrcClientTests
{
    [Fact]
    public async Task Registers_identifies_joins_and_paces_lines_with_a_token_bucket_within_512_bytes()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var clock = new ManualTimeProvider();
        await using var client = new IrcClient(new IrcOptions
        {
            Server = "127.0.0.1", Port = port, Nick = "observe", NickservPassword = "ns-secret", FloodBurst = 2, FloodInterval = "2s",
        }, ["#ops"], clock, NullLogger.Instance);
        client.Start();
        using var conn = await listener.AcceptTcpClientAsync();
        var stream = conn.GetStream();
        var reader = new StreamReader(stream, Encoding.UTF8);
        var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        async Task<string> Read() => await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException();

        Assert.Equal("NICK observe", await Read());
        Assert.Equal("USER observe 0 * :Observe alerts", await Read());
        await writer.WriteLineAsync(":irc.test 433 * observe :Nickname is already in use");
        Assert.Equal("NICK observe_", await Read());
        await writer.WriteLineAsync(":irc.test 001 observe_ :Welcome");
        Assert.Equal("PRIVMSG NickServ :IDENTIFY ns-secret", await Read());
        Assert.Equal("JOIN #ops", await Read());
        await Poll.UntilAsync(() => client.Registered, TimeSpan.FromSeconds(10), "registered");

        client.Post("#ops", "one");
        client.Post("#ops", "two");
        client.Post("#ops", string.Concat(Enumerable.Repeat("long-word ", 100)));
        Assert.Equal("NOTICE #ops :one", await Read());
        Assert.Equal("NOTICE #ops :two", await Read());
        // The bucket is empty: the sender waits on the clock and writes nothing more until it moves.
        await Poll.UntilAsync(() => clock.PendingTimers > 0, TimeSpan.FromSeconds(10), "the sender to wait for a token");
        var next = Read();
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(2));
        var pieces = new List<string> { await next };
        while (pieces.Sum(p => p.Length - "NOTICE #ops :".Length) < 999 - 2) // 999 characters, minus the spaces it was split at
        {
            await Poll.UntilAsync(() => clock.PendingTimers > 0, TimeSpan.FromSeconds(10), "the sender to wait for the next token");
            clock.Advance(TimeSpan.FromSeconds(2));
            pieces.Add(await Read());
        }
        Assert.Equal(3, pieces.Count); // 999 bytes of text at most 400 per line
        Assert.All(pieces, p => Assert.StartsWith("NOTICE #ops :long-word", p));
        Assert.All(pieces, p => Assert.True(Encoding.UTF8.GetByteCount(p) + 2 <= 512));
        Assert.Equal(string.Concat(Enumerable.Repeat("long-word ", 100)).Trim(), string.Join(" ", pieces.Select(p => p["NOTICE #ops :".Length..])));
        // Then it asks the server to confirm; the lines leave the queue only on the PONG.
        var ping = await Read();
        Assert.StartsWith("PING :observe", ping);
        Assert.Equal(5, client.QueueDepth); // written, not yet confirmed
        await writer.WriteLineAsync($":irc.test PONG irc.test :{ping[6..]}");
        await Poll.UntilAsync(() => client.QueueDepth == 0, TimeSpan.FromSeconds(10), "the PONG to confirm the lines");
        Assert.Equal(5, Interlocked.Read(ref client.LinesSent));
        // The server's PING is answered.
        await writer.WriteLineAsync("PING :irc.test");
        Assert.Equal("PONG :irc.test", await Read());
        listener.Stop();
    }
}
