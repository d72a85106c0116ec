using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Observe.TestSupport;

/// <summary>Self-signed server certificates for 127.0.0.1 written where a server reads them, and the one a server serves.</summary>
public static class TestCertificate
{
    /// <summary>A new self-signed certificate (EC P-256, for 127.0.0.1 and localhost), valid from yesterday for 30 days.</summary>
    public static X509Certificate2 Create(string commonName = "observe-test")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    /// <summary>A root CA, an intermediate CA it signed, and a server certificate for 127.0.0.1 the intermediate signed (as a public CA issues).</summary>
    public static (X509Certificate2 Root, X509Certificate2 Intermediate, X509Certificate2 Server) CreateChain()
    {
        var now = DateTimeOffset.UtcNow;
        static CertificateRequest Ca(string cn, ECDsa key)
        {
            var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
            return req;
        }
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var root = Ca("observe-test-root", rootKey).CreateSelfSigned(now.AddDays(-2), now.AddDays(60));
        using var midKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var midPublic = Ca("observe-test-intermediate", midKey).Create(root, now.AddDays(-2), now.AddDays(50), [1, 2, 3, 4]);
        var intermediate = midPublic.CopyWithPrivateKey(midKey);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafReq = new CertificateRequest("CN=observe-test-server", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        leafReq.CertificateExtensions.Add(san.Build());
        leafReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        leafReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        leafReq.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leafPublic = leafReq.Create(intermediate, now.AddDays(-1), now.AddDays(30), [5, 6, 7, 8]);
        return (root, intermediate, leafPublic.CopyWithPrivateKey(leafKey));
    }

    /// <summary>Writes <paramref name="cert"/> and its key as PEM files (replacing what is there, as a renewal does).</summary>
    public static void WritePem(X509Certificate2 cert, string certPath, string keyPath)
    {
        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, cert.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");
    }

    public static void WritePkcs12(X509Certificate2 cert, string path, string password) =>
        File.WriteAllBytes(path, cert.Export(X509ContentType.Pkcs12, password));

    /// <summary>The certificates the TLS server on 127.0.0.1:<paramref name="port"/> sends in a handshake (its own and its chain), as subjects.</summary>
    public static async Task<List<string>> SentChainAsync(int port)
    {
        var sent = new List<string>();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, cert, chain, _) =>
        {
            // What the peer sent beyond its own certificate is what .NET puts in the chain's extra store.
            sent.Add(cert!.Subject);
            foreach (var c in chain!.ChainPolicy.ExtraStore) if (c.Subject != cert.Subject) sent.Add(c.Subject);
            return true;
        });
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        return sent;
    }

    /// <summary>The certificate the TLS server on 127.0.0.1:<paramref name="port"/> presents in a new handshake (not verified).</summary>
    public static async Task<X509Certificate2> ServedAsync(int port)
    {
        // Bounded: a poll's deadline is checked between tries, so one handshake that hangs must not hold it.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, cts.Token);
        return new X509Certificate2(tls.RemoteCertificate!);
    }

    /// <summary>An HttpClient that accepts any server certificate (the tests' self-signed ones).</summary>
    public static HttpClient InsecureClient(string baseUrl) => new(new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
    })
    { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(10) };
}
