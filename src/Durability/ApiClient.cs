using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Observe.Durability;

/// <summary>
/// The HttpClient every client command (<c>observe checks|alerts|ack|silence|deploy …</c>) talks to a running Observe
/// with. Over <c>https://</c> the server's certificate is checked against the system's roots, plus the CA file given by
/// <c>--ca-file</c> / <c>$OBSERVE_CA_FILE</c> (a private CA, or a self-signed server certificate itself); with
/// <c>--insecure</c> / <c>$OBSERVE_TLS_INSECURE=1</c> not at all (a test box only). Set once by the host before a command runs.
/// </summary>
public static class ApiClient
{
    private static X509Certificate2Collection? s_trusted;
    private static bool s_insecure;

    /// <summary>Trusts the PEM certificates in <paramref name="caFile"/> (null: none); null when that worked, else why not.</summary>
    public static string? Trust(string? caFile, bool insecure)
    {
        s_insecure = insecure;
        s_trusted = null;
        if (string.IsNullOrEmpty(caFile)) return null;
        if (!File.Exists(caFile)) return $"--ca-file {caFile}: file not found";
        var certs = new X509Certificate2Collection();
        try { certs.ImportFromPemFile(caFile); }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException) { return $"--ca-file {caFile}: {e.Message}"; }
        if (certs.Count == 0) return $"--ca-file {caFile}: no PEM certificate in it";
        s_trusted = certs;
        return null;
    }

    public static HttpClient Create(Uri baseAddress, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler();
        if (s_insecure) handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        else if (s_trusted is { } trusted) handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, sent, errors) => Validate(cert, sent, errors, trusted);
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = timeout };
    }

    /// <summary>The system's verdict, or a chain (through the intermediates the server sent) to one of <paramref name="trusted"/> when that is the only complaint (the name must still match).</summary>
    private static bool Validate(X509Certificate? cert, X509Chain? sent, SslPolicyErrors errors, X509Certificate2Collection trusted)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (cert == null || errors != SslPolicyErrors.RemoteCertificateChainErrors) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // The intermediates the server sent.
        if (sent != null) chain.ChainPolicy.ExtraStore.AddRange(sent.ChainPolicy.ExtraStore);
        return chain.Build(cert as X509Certificate2 ?? new X509Certificate2(cert));
    }
}
