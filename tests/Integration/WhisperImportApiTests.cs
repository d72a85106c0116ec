using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Observe.Storage.Import;

namespace Observe.Integration;

/// <summary>Issue 18: <c>POST /api/import/whisper</c> is bounded and counted (body size, series per request, malformed bodies) and needs scope ingest.</summary>
public class WhisperImportApiTests
{
    private static ByteArrayContent Body(byte[] bytes)
    {
        var c = new ByteArrayContent(bytes);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return c;
    }

    private static byte[] Series(int count, int points)
    {
        using var s = new MemoryStream();
        s.Write(ImportWire.Magic);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var ts = Enumerable.Range(1, points).Select(i => now - now % 60 - i * 60L).Reverse().ToArray();
        var vs = ts.Select(t => (double)(t % 17)).ToArray();
        for (int i = 0; i < count; i++) ImportWire.Write(s, $"api.import.s{i}", [10, 60, 600], [(60, ts, vs)]);
        return s.ToArray();
    }

    [Fact]
    public async Task An_oversized_body_is_a_413_too_many_series_a_400_both_counted_and_a_good_body_imports()
    {
        await using var app = await ObserveApp.StartAsync(c => { c.Collector.Statsd.Enabled = false; c.Http.MaxRequestBodyBytes = 64 * 1024; });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        using (var res = await http.PostAsync("/api/import/whisper", Body(Series(1, 10_000))))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, res.StatusCode);
        using (var res = await http.PostAsync("/api/import/whisper", Body(Series(ImportWire.MaxSeriesPerRequest + 1, 0)[..(64 * 1024 - 1)])))
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode); // cut off mid-record: malformed, nothing imported
        using (var res = await http.PostAsync("/api/import/whisper", Body("not whisper"u8.ToArray())))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("OWI1", await res.Content.ReadAsStringAsync());
        }
        using (var res = await http.PostAsync("/api/import/whisper", Body(Series(3, 100))))
        {
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
            using var json = JsonDocument.Parse(await res.Content.ReadAsStringAsync());
            Assert.Equal(300, json.RootElement.GetProperty("written").GetInt64());
        }
        Assert.Contains("api.import.s2", await http.GetStringAsync("/metrics/find?query=api.import.*"));
        using var stats = JsonDocument.Parse(await http.GetStringAsync("/stats"));
        Assert.Equal(1, stats.RootElement.GetProperty("storage").GetProperty("limitHits").GetProperty("http.maxRequestBodyBytes").GetInt64());
    }

    [Fact]
    public async Task Too_many_series_in_one_request_are_refused_and_counted()
    {
        await using var app = await ObserveApp.StartAsync(c => { c.Collector.Statsd.Enabled = false; c.Http.MaxRequestBodyBytes = 1024 * 1024; });
        using var http = new HttpClient { BaseAddress = app.HttpBase };
        using (var res = await http.PostAsync("/api/import/whisper", Body(Series(ImportWire.MaxSeriesPerRequest + 1, 0))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            Assert.Contains("more than 10000 series", await res.Content.ReadAsStringAsync());
        }
        using var stats = JsonDocument.Parse(await http.GetStringAsync("/stats"));
        Assert.Equal(1, stats.RootElement.GetProperty("storage").GetProperty("limitHits").GetProperty("storage.import.maxSeriesPerRequest").GetInt64());
        Assert.Equal("[]", (await http.GetStringAsync("/metrics/find?query=api.import.*")).Trim());
    }
}
