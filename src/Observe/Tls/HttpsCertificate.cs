using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Observe.Host.Config;
using Serilog;

namespace Observe.Host.Tls;

/// <summary>A certificate file that cannot be used, naming the file and why (the start-up FTL line, the reload WRN line).</summary>
internal sealed class HttpsCertificateException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// The certificate Kestrel serves on the HTTP port, behind a holder that SIGHUP (and <c>POST /api/reload</c>) refills from
/// disk: every handshake reads <see cref="Context"/> (the certificate with the intermediates of its file), so a renewed
/// certificate is served without a restart and open connections keep theirs. A reload that fails keeps the old certificate.
/// </summary>
internal sealed class HttpsCertificate
{
    private long _reloadFailures;
    private readonly HttpsOptions _options;
    private Loaded _current;

    /// <summary>The certificate and, for the handshake, it with the intermediates from its file (sent to clients, who need them).</summary>
    private sealed record Loaded(X509Certificate2 Certificate, SslStreamCertificateContext Context);

    private HttpsCertificate(HttpsOptions options, Loaded first) => (_options, _current) = (options, first);

    /// <summary>Reloads that failed since start (<see cref="ObserveStats"/> exports it).</summary>
    public long ReloadFailures => Interlocked.Read(ref _reloadFailures);

    public X509Certificate2 Current => Volatile.Read(ref _current).Certificate;
    public SslStreamCertificateContext Context => Volatile.Read(ref _current).Context;

    /// <summary>Loads the configured certificate, or throws <see cref="HttpsCertificateException"/> naming the file.</summary>
    public static HttpsCertificate Load(HttpsOptions options) => new(options, Read(options));

    /// <summary>Re-reads the files; on failure the old certificate stays, with a warning and a count.</summary>
    public bool Reload(string who)
    {
        try
        {
            var next = Read(_options);
            var old = Interlocked.Exchange(ref _current, next);
            Log.Information("HTTPS certificate reloaded ({Who}): {Subject}, serial {Serial}, valid until {NotAfter:u}",
                who, next.Certificate.Subject, next.Certificate.SerialNumber, next.Certificate.NotAfter.ToUniversalTime());
            // Not disposed: a handshake that read it a moment ago may still be using it; the GC finalizes it.
            GC.KeepAlive(old);
            return true;
        }
        catch (HttpsCertificateException e)
        {
            Interlocked.Increment(ref _reloadFailures);
            Log.Warning("HTTPS certificate not reloaded ({Who}), still serving serial {Serial}: {Error}", who, Current.SerialNumber, e.Message);
            return false;
        }
    }

    private static Loaded Read(HttpsOptions o)
    {
        var pkcs12 = !string.IsNullOrEmpty(o.Pkcs12Path);
        var file = pkcs12 ? o.Pkcs12Path! : o.CertPath!;
        // The PEM key may sit in the certificate file itself when keyPath is not given.
        var keyFile = pkcs12 ? null : string.IsNullOrEmpty(o.KeyPath) ? file : o.KeyPath;
        var name = (pkcs12 ? "http.tls.pkcs12Path " : "http.tls.certPath ") + file;
        if (!File.Exists(file)) throw new HttpsCertificateException($"{name}: file not found");
        if (keyFile != null && !File.Exists(keyFile)) throw new HttpsCertificateException($"http.tls.keyPath {keyFile}: file not found");
        X509Certificate2 cert;
        var chain = new X509Certificate2Collection();
        try
        {
            if (pkcs12)
            {
                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(file, o.Password, X509KeyStorageFlags.EphemeralKeySet);
                cert = all.FirstOrDefault(c => c.HasPrivateKey) ?? throw new HttpsCertificateException($"{name}: no certificate with a private key in it");
                foreach (var c in all) if (!ReferenceEquals(c, cert)) chain.Add(c);
            }
            else
            {
                cert = string.IsNullOrEmpty(o.Password)
                    ? X509Certificate2.CreateFromPemFile(file, keyFile)
                    : X509Certificate2.CreateFromEncryptedPemFile(file, o.Password, keyFile);
                // The first certificate is the server's; any after it (a fullchain.pem) are its intermediates.
                var all = new X509Certificate2Collection();
                all.ImportFromPemFile(file);
                foreach (var c in all.Skip(1)) chain.Add(c);
            }
            if (!cert.HasPrivateKey) throw new HttpsCertificateException($"{name}: no private key for the certificate");
            // offline: the intermediates come from the file, not fetched at handshake time.
            return new Loaded(cert, SslStreamCertificateContext.Create(cert, chain, offline: true));
        }
        catch (Exception e) when (e is (CryptographicException or ArgumentException or IOException or UnauthorizedAccessException) and not HttpsCertificateException)
        {
            throw new HttpsCertificateException($"{name}{(keyFile != null && keyFile != file ? $" (key {keyFile})" : "")}: {e.Message}", e);
        }
    }

    /// <summary>Structure of <c>http.tls</c> (the files themselves are read at start, where a bad one is fatal).</summary>
    public static void Validate(HttpsOptions o, Action<string, string> fail)
    {
        if (!string.IsNullOrEmpty(o.CertPath) && !string.IsNullOrEmpty(o.Pkcs12Path)) fail("http.tls.pkcs12Path", "give either certPath (with keyPath) or pkcs12Path, not both");
        if (!string.IsNullOrEmpty(o.KeyPath) && string.IsNullOrEmpty(o.CertPath)) fail("http.tls.keyPath", "needs http.tls.certPath");
        if (o.HstsMaxAgeSeconds < 0) fail("http.tls.hstsMaxAgeSeconds", "must be 0 (no header) or more");
    }
}
