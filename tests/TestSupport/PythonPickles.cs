namespace Observe.TestSupport;

/// <summary>Pickles made by the real python3 pickle module (Debian's /usr/bin/python3), for the pickle receiver's tests.</summary>
public static class PythonPickles
{
    /// <summary>Runs <paramref name="expression"/> (a Python expression giving a list of bytes objects) and returns them.</summary>
    public static async Task<List<byte[]>> EvalAsync(string expression)
    {
        var script = "import base64, os, pickle, sys\n" +
                     "class Evil:\n    def __reduce__(self): return (os.system, ('echo pwned',))\n" +
                     $"for b in ({expression}): print(base64.b64encode(b).decode())\n";
        var (exit, stdout, stderr) = await PeerProcess.RunToEndAsync("/usr/bin/python3", ["-c", script]);
        if (exit != 0) throw new InvalidOperationException("python3 failed: " + stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Convert.FromBase64String).ToList();
    }

    /// <summary>carbon's framing: a 4-byte big-endian length, then the pickle.</summary>
    public static byte[] Frame(byte[] pickle)
    {
        var framed = new byte[4 + pickle.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(framed, (uint)pickle.Length);
        pickle.CopyTo(framed, 4);
        return framed;
    }
}
