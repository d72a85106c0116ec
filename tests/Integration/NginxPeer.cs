using Observe.TestSupport;

namespace Observe.Integration;

/// <summary>A real nginx (Debian's) in the foreground on 127.0.0.1, everything under <c>dir/nginx</c>, stopped by PID.</summary>
internal static class NginxPeer
{
    /// <param name="http">What goes inside <c>http { }</c> besides the temp paths: upstreams and servers (listening on
    /// <paramref name="port"/>, which is awaited).</param>
    public static async Task<PeerProcess> StartAsync(string dir, int port, string http, int workerConnections = 256)
    {
        var root = Path.Combine(dir, "nginx");
        Directory.CreateDirectory(root);
        var conf = Path.Combine(root, "nginx.conf");
        await File.WriteAllTextAsync(conf, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{root}}/nginx.pid;
            error_log {{root}}/error.log warn;
            events { worker_connections {{workerConnections}}; }
            http {
              access_log off;
              client_body_temp_path {{root}}/body;
              proxy_temp_path {{root}}/proxy;
              fastcgi_temp_path {{root}}/fastcgi;
              uwsgi_temp_path {{root}}/uwsgi;
              scgi_temp_path {{root}}/scgi;
            {{http}}
            }
            """);
        var p = PeerProcess.Start("/usr/sbin/nginx", ["-p", root, "-e", Path.Combine(root, "error.log"), "-c", conf], root, Path.Combine(root, "nginx.out"));
        await Tcp.WaitForPortAsync(port, TimeSpan.FromSeconds(20), "nginx to listen");
        return p;
    }
}
