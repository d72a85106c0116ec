using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Observe.Storage.Tsdb;

namespace Observe.Storage.Import;

/// <summary>
/// <c>POST /api/import/whisper</c> (scope <c>ingest</c>): one <see cref="ImportWire"/> body, imported in one store
/// transaction; answers <c>{series, points, written, unchanged, skipped}</c>. Bounded by <c>http.maxRequestBodyBytes</c>
/// (413, counted as that key) and <see cref="ImportWire.MaxSeriesPerRequest"/> (400, counted as
/// <c>storage.import.maxSeriesPerRequest</c>); a malformed body is a 400 and imports nothing.
/// </summary>
internal static class WhisperImportApi
{
    public const string Path = "/api/import/whisper";

    public static void Map(IEndpointRouteBuilder app, StoreOpening opening, StorageLimitHits hits)
    {
        app.MapPost(Path, async (HttpContext ctx) =>
        {
            using var body = new MemoryStream();
            try { await ctx.Request.Body.CopyToAsync(body, ctx.RequestAborted); }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                hits.Hit("http.maxRequestBodyBytes");
                return Results.Text($"import body larger than http.maxRequestBodyBytes: {e.Message}", "text/plain", statusCode: 413);
            }
            List<ImportSeries> batch;
            try { batch = ImportWire.Read(body.GetBuffer().AsSpan(0, (int)body.Length)); }
            catch (ImportLimitException e)
            {
                hits.Hit("storage.import.maxSeriesPerRequest");
                return Results.Text(e.Message, "text/plain", statusCode: 400);
            }
            catch (FormatException e) { return Results.Text(e.Message, "text/plain", statusCode: 400); }
            var o = (await opening.Opening).Import(batch);
            return Results.Json(new { series = o.Series, points = o.Points, written = o.Written, unchanged = o.Unchanged, skipped = o.Skipped });
        }).RequireAuthorization("ingest");
    }
}
