using System.Net.Sockets;

namespace Observe.TestSupport;

/// <summary>The receivers' accept loop: each connection handled on its own task until the token is cancelled.</summary>
public static class TcpAccept
{
    public static async Task EachAsync(TcpListener listener, Func<TcpClient, Task> handle, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(ct); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try { await handle(client); }
                    catch (Exception) { }
                }
            });
        }
    }
}
