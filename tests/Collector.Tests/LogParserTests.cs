using System.Text;
using Observe.Collector.Logs;

namespace Observe.Collector.Tests;

public class LogParserTests
{
    private static readonly DateTimeOffset Received = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static LogEvent Parse(string json)
    {
        Assert.True(LogJsonParser.TryParse(Encoding.UTF8.GetBytes(json), Received, out var e, out var reason, out var error), $"{reason}: {error}");
        return e!;
    }

    private static (LogRejectReason Reason, string Error) Reject(string json)
    {
        Assert.False(LogJsonParser.TryParse(Encoding.UTF8.GetBytes(json), Received, out _, out var reason, out var error));
        return (reason, error!);
    }

    [Fact]
    public void Docker_gelf_message_is_normalised()
    {
        // The fields Docker's gelf driver sends (daemon/logger/gelf), for a line a container wrote on stderr.
        var e = Parse("""
            {"version":"1.1","host":"docker-host","short_message":"payment failed","timestamp":1795435200.125,"level":3,
             "_command":"/app/run","_container_id":"4e7f","_container_name":"checkout","_created":"2026-11-23T11:00:00Z",
             "_image_id":"sha256:ab","_image_name":"shop/checkout:1.2","_tag":"4e7f","_order":{"id":17,"items":[1,2]}}
            """);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1795435200125), e.Timestamp);
        Assert.Equal("error", e.Level);
        Assert.Equal("docker-host", e.Host);
        Assert.Equal("checkout", e.Service);
        Assert.Equal("payment failed", e.Message);
        Assert.Equal("shop/checkout:1.2", e.Fields["image_name"]);
        Assert.Equal("checkout", e.Fields["container_name"]);
        Assert.Equal("""{"id":17,"items":[1,2]}""", e.Fields["order"]);
        Assert.False(e.Fields.ContainsKey("version"));
        Assert.False(e.Fields.ContainsKey("_tag"));
    }

    [Theory]
    [InlineData(0, "fatal")]
    [InlineData(1, "fatal")]
    [InlineData(2, "fatal")]
    [InlineData(3, "error")]
    [InlineData(4, "warn")]
    [InlineData(5, "info")]
    [InlineData(6, "info")]
    [InlineData(7, "debug")]
    public void SyslogSeveritiesMapToOneSet(int severity, string level)
    {
        Assert.Equal(level, Parse($$"""{"short_message":"x","level":{{severity}}}""").Level);
        Assert.Equal(level, Parse($$"""{"short_message":"x","level":"{{severity}}"}""").Level);
    }

    [Theory]
    [InlineData("Information", "info")]
    [InlineData("WARNING", "warn")]
    [InlineData("err", "error")]
    [InlineData("Verbose", "trace")]
    [InlineData("critical", "fatal")]
    [InlineData("emergency", "fatal")]
    [InlineData("notice", "info")]
    [InlineData("DEBUG", "debug")]
    public void LevelNamesMapToOneSet(string name, string level)
    {
        var e = Parse($$"""{"message":"x","severity":"{{name}}"}""");
        Assert.Equal(level, e.Level);
        Assert.False(e.Fields.ContainsKey("level_raw"));
    }

    [Fact]
    public void Unknown_level_is_info_and_kept()
    {
        var e = Parse("""{"message":"x","level":"chatty"}""");
        Assert.Equal("info", e.Level);
        Assert.Equal("chatty", e.Fields["level_raw"]);
        Assert.Equal("info", Parse("""{"message":"x"}""").Level);
    }

    [Theory]
    [InlineData("\"timestamp\":1795435200.5", 1795435200500)]              // GELF: float seconds
    [InlineData("\"timestamp\":1795435200500", 1795435200500)]             // epoch milliseconds
    [InlineData("\"ts\":1795435200500000", 1795435200500)]                 // microseconds
    [InlineData("\"time\":\"2026-11-23T11:20:00.5Z\"", 1795432800500)]      // ISO-8601
    [InlineData("\"@t\":\"2026-11-23T12:20:00.5+01:00\"", 1795432800500)]   // Serilog CLEF, with an offset
    [InlineData("\"@timestamp\":\"2026-11-23T11:20:00.5\"", 1795432800500)] // no offset: UTC
    [InlineData("\"timestamp\":\"1795435200.5\"", 1795435200500)]          // epoch as a string
    public void TimestampsAreNormalised(string field, long unixMs)
    {
        Assert.Equal(unixMs, Parse($$"""{"message":"x",{{field}}}""").Timestamp.ToUnixTimeMilliseconds());
    }

    [Fact]
    public void Missing_or_unreadable_timestamp_is_the_receive_time()
    {
        Assert.Equal(Received, Parse("""{"message":"x"}""").Timestamp);
        var e = Parse("""{"message":"x","timestamp":"yesterday-ish"}""");
        Assert.Equal(Received, e.Timestamp);
        Assert.Equal("yesterday-ish", e.Fields["timestamp_raw"]);
    }

    [Fact]
    public void Service_comes_from_the_first_of_service_app_application_container_name()
    {
        Assert.Equal("a", Parse("""{"msg":"x","_container_name":"c","app":"b","_service":"a"}""").Service);
        Assert.Equal("b", Parse("""{"msg":"x","_container_name":"c","_app":"b"}""").Service);
        Assert.Equal("b", Parse("""{"msg":"x","_container_name":"c","Application":"b"}""").Service);
        Assert.Equal("c", Parse("""{"msg":"x","container_name":"/c"}""").Service);
        Assert.Null(Parse("""{"msg":"x"}""").Service);
    }

    [Fact]
    public void Message_comes_from_short_message_then_message_then_msg_and_the_rest_stay_fields()
    {
        var gelf = Parse("""{"short_message":"short","full_message":"long\nstack"}""");
        Assert.Equal("short", gelf.Message);
        Assert.Equal("long\nstack", gelf.Fields["full_message"]);
        Assert.Equal("long", Parse("""{"full_message":"long"}""").Message);
        Assert.Equal("m", Parse("""{"msg":"m","user":"u"}""").Message);
        var clef = Parse("""{"@t":"2026-11-23T11:00:00Z","@mt":"User {Id} logged in","@l":"Warning","Id":7}""");
        Assert.Equal("User {Id} logged in", clef.Message);
        Assert.Equal("warn", clef.Level);
        Assert.Equal("7", clef.Fields["Id"]);
    }

    [Fact]
    public void Other_values_are_kept_as_their_text()
    {
        var e = Parse("""{"message":"x","n":1.50,"ok":true,"no":false,"nothing":null,"list":[1,"a"],"_x":"gelf","esc\u0061ped":"v"}""");
        Assert.Equal("1.50", e.Fields["n"]);
        Assert.Equal("true", e.Fields["ok"]);
        Assert.Equal("false", e.Fields["no"]);
        Assert.False(e.Fields.ContainsKey("nothing"));
        Assert.Equal("""[1,"a"]""", e.Fields["list"]);
        Assert.Equal("gelf", e.Fields["x"]);
        Assert.Equal("v", e.Fields["escaped"]);
    }

    [Theory]
    [InlineData("{\"message\":\"x\"", "InvalidJson")]
    [InlineData("{\"message\":\"x\"} trailing", "InvalidJson")]
    [InlineData("not json", "InvalidJson")]
    [InlineData("", "InvalidJson")]
    [InlineData("[{\"message\":\"x\"}]", "NotAnObject")]
    [InlineData("\"just a string\"", "NotAnObject")]
    [InlineData("{\"level\":\"error\"}", "MissingMessage")]
    [InlineData("{\"message\":null}", "MissingMessage")]
    public void BadInputIsRejectedWithAReason(string json, string reason)
    {
        var (r, error) = Reject(json);
        Assert.Equal(reason, r.ToString());
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    /// <summary>Issue 15 finding 8: invalid UTF-8 anywhere (a value, a field name, a field value) is a counted rejection, never an exception.</summary>
    [Theory]
    [InlineData("{\"message\":\"bad \xff\"}", 16)]
    [InlineData("{\"message\":\"ok\",\"f\xc3\":\"v\"}", 18)]
    [InlineData("{\"message\":\"ok\",\"f\":\"\xed\xa0\x80\"}", 21)] // an encoded surrogate
    public void InvalidUtf8IsRejectedNamingTheByte(string latin1, int offset)
    {
        var bytes = Encoding.Latin1.GetBytes(latin1);
        Assert.False(LogJsonParser.TryParse(bytes, Received, out _, out var reason, out var error));
        Assert.Equal((LogRejectReason.InvalidUtf8, $"invalid UTF-8 at byte {offset}"), (reason, error));
    }

    [Fact]
    public void An_escaped_lone_surrogate_is_invalid_json_not_an_exception()
    {
        var (reason, error) = Reject("{\"message\":\"x\",\"f\":\"\\ud800\"}");
        Assert.Equal(LogRejectReason.InvalidJson, reason);
        Assert.StartsWith("invalid JSON", error);
    }
}
