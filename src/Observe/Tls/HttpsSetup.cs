using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Observe.Host.Config;
using Observe.Host.Tls;

namespace Observe.Host;

/// <summary>Kestrel's HTTPS on the HTTP port (<c>http.tls</c>): TLS 1.2 and 1.3 only, the certificate from a reloadable holder, HSTS.</summary>
internal static class HttpsSetup
{
    /// <summary>Null when <c>http.tls</c> names no certificate; throws <see cref="HttpsCertificateException"/> naming a file that cannot be used.</summary>
    public static HttpsCertificate? Configure(WebApplicationBuilder builder, HttpsOptions options)
    {
        if (!options.Enabled) return null;
        var certificate = HttpsCertificate.Load(options);
        // The slim builder leaves HTTPS out of Kestrel unless asked.
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.ConfigureHttpsDefaults(h =>
        {
            h.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
            // Read at every handshake: a certificate renewed on disk is served after SIGHUP without a restart. Kestrel wants a
            // selector to start; the handshake then uses the context, which also carries the intermediates of the file
            // (a selector's certificate would go alone).
            h.ServerCertificateSelector = (_, _) => certificate.Current;
            h.OnAuthenticate = (_, ssl) =>
            {
                ssl.ServerCertificateSelectionCallback = null;
                ssl.ServerCertificate = null;
                ssl.ServerCertificateContext = certificate.Context;
            };
        }));
        return certificate;
    }

    /// <summary>Strict-Transport-Security on every HTTPS answer, set as the response starts (an error answer clears headers first).</summary>
    public static void UseHsts(WebApplication app, HttpsOptions options)
    {
        if (options.HstsMaxAgeSeconds <= 0) return;
        var value = $"max-age={options.HstsMaxAgeSeconds}";
        app.Use((ctx, next) =>
        {
            if (ctx.Request.IsHttps)
                ctx.Response.OnStarting(() => { ctx.Response.Headers.StrictTransportSecurity = value; return Task.CompletedTask; });
            return next(ctx);
        });
    }
}
