using System.Net;
using System.Xml.Linq;
using Observe.Storage.Graphite;
using SkiaSharp;

namespace Observe.Storage.Tests.Graphite;

/// <summary>/render?format=png|svg over HTTP: the images decode, have the asked size and draw the data where it belongs.</summary>
public sealed class GraphImageTests : IAsyncLifetime
{
    private const long Now = 1_800_000_000;
    private GraphiteTestApp? _api;
    private HttpClient Http => _api!.Http;

    public async Task InitializeAsync()
    {
        var store = new MemorySeriesStore("10s:1d", () => Now);
        for (var t = Now - 3600; t <= Now; t += 10)
        {
            store.Write("flat.fifty", 50, t);
            store.Write("flat.twenty", 20, t);
        }
        _api = await GraphiteTestApp.StartAsync(store, Now, new RenderLimitOptions { MaxImageWidth = 1000, MaxImageHeight = 800 });
    }

    public async Task DisposeAsync()
    {
        if (_api != null) await _api.DisposeAsync();
    }

    private async Task<SKBitmap> Png(string query)
    {
        using var r = await Http.GetAsync("/render?" + query);
        var body = await r.Content.ReadAsByteArrayAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, System.Text.Encoding.UTF8.GetString(body));
        Assert.Equal("image/png", r.Content.Headers.ContentType?.MediaType);
        return SKBitmap.Decode(body) ?? throw new Xunit.Sdk.XunitException("the PNG does not decode");
    }

    private async Task<XDocument> Svg(string query)
    {
        using var r = await Http.GetAsync("/render?" + query);
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("image/svg+xml", r.Content.Headers.ContentType?.MediaType);
        return XDocument.Parse(body); // throws unless well-formed
    }

    private static bool Near(SKColor c, byte r, byte g, byte b, int tol = 40) =>
        Math.Abs(c.Red - r) <= tol && Math.Abs(c.Green - g) <= tol && Math.Abs(c.Blue - b) <= tol;

    /// <summary>Rows of column <paramref name="x"/> whose pixel is near the colour.</summary>
    private static List<int> Rows(SKBitmap bmp, int x, byte r, byte g, byte b) =>
        Enumerable.Range(0, bmp.Height).Where(y => Near(bmp.GetPixel(x, y), r, g, b)).ToList();

    [Fact]
    public async Task A_png_has_graphites_default_size_and_black_background()
    {
        using var bmp = await Png("target=flat.fifty&from=-1h&format=png");
        Assert.Equal((330, 250), (bmp.Width, bmp.Height));
        Assert.Equal(new SKColor(0, 0, 0), bmp.GetPixel(1, 1));
    }

    [Fact]
    public async Task A_constant_line_lands_at_its_pixel_row_when_yMin_and_yMax_fix_the_scale()
    {
        // graphOnly: the plot is the whole image, so 50 on 0..100 is the middle row; 20 is 80 % down
        using var bmp = await Png("target=flat.fifty&target=flat.twenty&from=-1h&format=png&width=400&height=200&graphOnly=true&yMin=0&yMax=100&colorList=ff0000,00ff00&lineWidth=2");
        Assert.Equal((400, 200), (bmp.Width, bmp.Height));
        foreach (var x in new[] { 50, 200, 350 })
        {
            var red = Rows(bmp, x, 255, 0, 0);
            Assert.NotEmpty(red);
            Assert.InRange(red.Average(), 99, 101);
            var green = Rows(bmp, x, 0, 255, 0);
            Assert.NotEmpty(green);
            Assert.InRange(green.Average(), 159, 161);
            Assert.Equal(new SKColor(0, 0, 0), bmp.GetPixel(x, 30)); // nothing drawn elsewhere
        }
    }

    [Fact]
    public async Task Color_and_lineWidth_functions_style_their_series()
    {
        using var bmp = await Png("target=lineWidth(color(flat.fifty,'0000ff'),5)&from=-1h&format=png&graphOnly=true&yMin=0&yMax=100&height=200");
        var blue = Rows(bmp, 150, 0, 0, 255);
        Assert.InRange(blue.Count, 4, 7); // 5 px wide
        Assert.InRange(blue.Average(), 99, 101);
    }

    [Fact]
    public async Task Bgcolor_hideLegend_hideAxes_and_graphOnly_change_the_pixels_they_govern()
    {
        using var white = await Png("target=flat.fifty&from=-1h&format=png&bgcolor=ffffff");
        Assert.Equal(new SKColor(255, 255, 255), white.GetPixel(1, 1));

        // the legend (below the plot) draws the series' colour box; hideLegend leaves that band background
        static int Colored(SKBitmap b, int y0, int y1) =>
            Enumerable.Range(y0, y1 - y0).Sum(y => Enumerable.Range(0, b.Width).Count(x => b.GetPixel(x, y) != new SKColor(0, 0, 0)));
        using var full = await Png("target=flat.fifty&from=-1h&format=png&colorList=ff0000");
        using var noLegend = await Png("target=flat.fifty&from=-1h&format=png&colorList=ff0000&hideLegend=true");
        Assert.Contains(Enumerable.Range(225, 25), y => Enumerable.Range(0, 330).Any(x => Near(full.GetPixel(x, y), 255, 0, 0, 10)));
        Assert.DoesNotContain(Enumerable.Range(225, 25), y => Enumerable.Range(0, 330).Any(x => Near(noLegend.GetPixel(x, y), 255, 0, 0, 10)));

        // hideAxes: no labels or grid left of the plot and under it
        using var noAxes = await Png("target=flat.fifty&from=-1h&format=png&hideLegend=true&hideAxes=true&colorList=ff0000&lineWidth=2");
        Assert.True(Colored(noLegend, 0, 250) > Colored(noAxes, 0, 250) + 200, "axes and grid draw pixels");
        Assert.Equal(0, Colored(noAxes, 0, 9)); // above the plot: only the margin

        // graphOnly: no margin, the line reaches the image's edges
        using var only = await Png("target=flat.fifty&from=-1h&format=png&graphOnly=true&colorList=ff0000&yMin=0&yMax=100&lineWidth=2");
        Assert.NotEmpty(Rows(only, 2, 255, 0, 0));
        Assert.Empty(Rows(noAxes, 2, 255, 0, 0));
    }

    [Fact]
    public async Task Stacked_area_fills_below_the_line()
    {
        using var bmp = await Png("target=flat.fifty&from=-1h&format=png&graphOnly=true&yMin=0&yMax=100&areaMode=all&colorList=ff0000&height=200");
        Assert.True(Near(bmp.GetPixel(150, 150), 255, 0, 0, 10), "filled under the line");
        Assert.Equal(new SKColor(0, 0, 0), bmp.GetPixel(150, 50));
    }

    [Fact]
    public async Task An_svg_is_well_formed_with_the_asked_size_a_path_per_series_and_an_escaped_title()
    {
        var hostile = "</text><script>alert(1)</script>&\"'";
        var doc = await Svg("target=flat.fifty&target=flat.twenty&from=-1h&format=svg&width=500&height=300&title=" + Uri.EscapeDataString(hostile));
        XNamespace svg = "http://www.w3.org/2000/svg";
        var root = doc.Root!;
        Assert.Equal(("500", "300"), ((string?)root.Attribute("width"), (string?)root.Attribute("height")));
        Assert.Equal(2, root.Descendants(svg + "path").Count(p => (string?)p.Attribute("class") == "series"));
        Assert.Empty(root.Descendants(svg + "script"));
        Assert.Contains(root.Descendants(svg + "text"), t => t.Value == hostile);
    }

    [Fact]
    public async Task Dashed_and_secondYAxis_series_draw_dashed_and_on_their_own_right_hand_scale()
    {
        var doc = await Svg("target=dashed(flat.fifty,4)&target=secondYAxis(flat.twenty)&from=-1h&format=svg&width=500&height=300&hideLegend=true");
        XNamespace svg = "http://www.w3.org/2000/svg";
        var paths = doc.Root!.Descendants(svg + "path").Where(p => (string?)p.Attribute("class") == "series").ToList();
        Assert.Equal(2, paths.Count);
        Assert.Equal("4,4", (string?)paths[0].Attribute("stroke-dasharray"));
        Assert.Null(paths[1].Attribute("stroke-dasharray"));
        // the right axis carries labels around 20 (its own scale), the left one around 50
        var labels = doc.Root.Descendants(svg + "text").Select(t => (X: double.Parse((string)t.Attribute("x")!, System.Globalization.CultureInfo.InvariantCulture), t.Value)).ToList();
        Assert.Contains(labels, l => l.X > 450 && l.Value == "20");
        Assert.Contains(labels, l => l.X < 50 && l.Value == "50");
    }

    [Fact]
    public async Task Sizes_beyond_the_configured_bound_are_refused_and_counted()
    {
        using var r = await Http.GetAsync("/render?target=flat.fifty&format=png&width=1001");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("storage.render.maxImageWidth", await r.Content.ReadAsStringAsync());
        using var r2 = await Http.GetAsync("/render?target=flat.fifty&format=svg&height=801");
        Assert.Equal(HttpStatusCode.BadRequest, r2.StatusCode);
        Assert.Equal(1, _api!.Hits.Snapshot()["storage.render.maxImageWidth"]);
        Assert.Equal(1, _api!.Hits.Snapshot()["storage.render.maxImageHeight"]);
        using var bad = await Http.GetAsync("/render?target=flat.fifty&format=png&bgcolor=notacolour");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }
}
