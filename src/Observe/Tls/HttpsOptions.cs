namespace Observe.Host.Config;

/// <summary>
/// <c>http.tls</c>: HTTPS on the HTTP port. A PEM certificate with its key, or a PKCS#12 file; re-read on SIGHUP and
/// <c>POST /api/reload</c>. Paths are named <c>…Path</c> so that the binder's <c>xFile</c> rule (read a value from a file)
/// never applies to them.
/// </summary>
public sealed class HttpsOptions
{
    /// <summary>PEM certificate: the server's first, then its intermediates (sent in the handshake).</summary>
    public string? CertPath { get; set; }
    /// <summary>PEM private key of <see cref="CertPath"/> (PKCS#8, PKCS#1 or SEC1; unencrypted, or encrypted with <see cref="Password"/>).</summary>
    public string? KeyPath { get; set; }
    /// <summary>PKCS#12 (.pfx/.p12) with the certificate and its key, instead of the PEM pair.</summary>
    public string? Pkcs12Path { get; set; }
    /// <summary>Password of the PKCS#12 file or of an encrypted PEM key (a secret: give it as passwordFile or in the environment).</summary>
    public string? Password { get; set; }
    /// <summary>Strict-Transport-Security max-age in seconds on every HTTPS answer; 0 sends none.</summary>
    public long HstsMaxAgeSeconds { get; set; } = 31_536_000;

    public bool Enabled => !string.IsNullOrEmpty(CertPath) || !string.IsNullOrEmpty(Pkcs12Path);
}
