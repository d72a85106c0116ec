using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Observe.Storage.Import;

/// <summary>Options of <c>observe import whisper</c>.</summary>
/// <param name="ProgressPath">the resume file (null: one per directory under the user's state directory)</param>
/// <param name="Restart">forget the resume file and send every file again</param>
/// <param name="BatchBytes">request body size the client aims at (below the server's <c>http.maxRequestBodyBytes</c>)</param>
public sealed record WhisperImportOptions(string Directory, string? ProgressPath = null, bool Restart = false, int BatchBytes = 2 * 1024 * 1024);

/// <summary>
/// <c>observe import whisper DIR</c>: reads every <c>.wsp</c> under DIR (path → metric name, <c>/</c> → <c>.</c>;
/// carbon's <c>_tagged/…/name;k=v</c> files by their file name) and posts its archives to a running Observe
/// (<see cref="WhisperImportApi"/>). A progress bar on a terminal, plain lines otherwise. Resumable: after each
/// acknowledged request the files it completed are appended to the resume file (path, size, mtime); a rerun skips them.
/// Safe to rerun anyway: the server writes only slots whose value differs.
/// </summary>
public static class WhisperImportCli
{
    /// <summary>Whisper files larger than this are refused (reported, not read): 1s:1y is 378 MB.</summary>
    public const long MaxFileBytes = 1L << 30;

    public static async Task<int> RunAsync(Uri baseUrl, string? token, WhisperImportOptions o, TextWriter output, bool tty, CancellationToken ct)
    {
        var root = Path.GetFullPath(o.Directory);
        if (!System.IO.Directory.Exists(root)) { output.WriteLine($"{o.Directory}: no such directory"); return 2; }
        var progressPath = o.ProgressPath ?? DefaultProgressPath(root);
        var done = o.Restart ? new Dictionary<string, string>() : LoadProgress(progressPath, root);
        if (o.Restart || !File.Exists(progressPath))
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(progressPath))!);
            await File.WriteAllTextAsync(progressPath, "#observe-import-whisper\t" + root + "\n", ct);
        }
        var files = System.IO.Directory.EnumerateFiles(root, "*.wsp", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        output.WriteLine($"importing {files.Count} whisper files from {root} into {baseUrl}; resume file {progressPath}");
        int skipped = files.RemoveAll(f => done.TryGetValue(Relative(root, f), out var stamp) && stamp == Stamp(f));
        if (skipped > 0) output.WriteLine($"resuming: skipping {skipped} files already imported (--restart sends them again)");

        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(5) };
        if (!string.IsNullOrEmpty(token)) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var progress = new ImportProgress(output, tty, files.Count);
        var batch = new ImportBatcher(o.BatchBytes);
        long written = 0, unchanged = 0, notTaken = 0;
        int failed = 0;
        await using var log = new StreamWriter(progressPath, append: true, new UTF8Encoding(false));

        async Task<bool> Send(bool final)
        {
            foreach (var body in batch.Take(final))
            {
                using var content = new ByteArrayContent(body.Bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                HttpResponseMessage resp;
                string text;
                try
                {
                    resp = await http.PostAsync(WhisperImportApi.Path.TrimStart('/'), content, ct);
                    text = await resp.Content.ReadAsStringAsync(ct);
                }
                catch (HttpRequestException e)
                {
                    progress.Done();
                    output.WriteLine($"import interrupted: {e.Message}; run the same command again to resume");
                    return false;
                }
                using var _ = resp;
                if (!resp.IsSuccessStatusCode)
                {
                    progress.Done();
                    output.WriteLine($"import refused: HTTP {(int)resp.StatusCode}: {text.Trim()}");
                    return false;
                }
                using var json = JsonDocument.Parse(text);
                written += json.RootElement.GetProperty("written").GetInt64();
                unchanged += json.RootElement.GetProperty("unchanged").GetInt64();
                notTaken += json.RootElement.GetProperty("skipped").GetInt64();
                foreach (var f in body.Completed) await log.WriteLineAsync($"{Relative(root, f)}\t{Stamp(f)}");
                await log.FlushAsync(ct);
                progress.Advance(body.Completed.Count, body.Points, written);
            }
            return true;
        }

        foreach (var f in files)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                if (new FileInfo(f).Length > MaxFileBytes) throw new InvalidDataException($"larger than {MaxFileBytes} bytes");
                var bytes = await File.ReadAllBytesAsync(f, ct);
                batch.Add(f, MetricName(root, f), bytes);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                failed++;
                progress.Note($"{Relative(root, f)}: not imported: {e.Message}");
                continue;
            }
            if (!await Send(false)) return 1;
        }
        if (!await Send(true)) return 1;
        progress.Done();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"imported {files.Count - failed} files: {progress.Points} points, {written} slots written, {unchanged} already held the same value, {notTaken} not taken (beyond Observe's retention, in an archive whose step fits no Observe archive, or live data there){(failed > 0 ? $"; {failed} files unreadable" : "")}"));
        // Most often this is whisper's retention not matching Observe's (an hourly archive has no 1h archive here to go to).
        if (notTaken > 0)
            output.WriteLine("to keep points Observe's retention does not hold, give it carbon's rules first: observe import carbon-conf " +
                "storage-schemas.conf [storage-aggregation.conf] prints them as storage: rules (docs/configuration.md); then import again with --restart");
        return failed > 0 ? 1 : 0;
    }

    /// <summary>graphite-web's name for a whisper file: its path below the root, slashes as dots; carbon's tagged files by their (encoded) file name.</summary>
    internal static string MetricName(string root, string file)
    {
        var rel = Relative(root, file);
        rel = rel[..^".wsp".Length];
        if (rel.StartsWith("_tagged/", StringComparison.Ordinal)) return Path.GetFileName(rel).Replace("_DOT_", ".", StringComparison.Ordinal);
        return rel.Replace('/', '.');
    }

    private static string Relative(string root, string file) => Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');

    private static string Stamp(string file)
    {
        var i = new FileInfo(file);
        return string.Create(CultureInfo.InvariantCulture, $"{i.Length}\t{i.LastWriteTimeUtc.Ticks}");
    }

    internal static string DefaultProgressPath(string root)
    {
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (string.IsNullOrEmpty(state)) state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..12];
        return Path.Combine(state, "observe", $"import-whisper-{hash}.progress");
    }

    /// <summary>Files already imported from <paramref name="root"/> (relative path → size and mtime); empty if the file is for another directory.</summary>
    private static Dictionary<string, string> LoadProgress(string path, string root)
    {
        var done = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return done;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != "#observe-import-whisper\t" + root) return done;
        foreach (var line in lines.Skip(1))
        {
            var tab = line.IndexOf('\t');
            if (tab > 0) done[line[..tab]] = line[(tab + 1)..];
        }
        return done;
    }
}

/// <summary>Progress: a redrawn bar on a terminal, a plain line at most once a second (and the first) otherwise.</summary>
internal sealed class ImportProgress(TextWriter output, bool tty, int totalFiles)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _files;
    private long _lastLineMs = -1;
    public long Points { get; private set; }

    public void Advance(int files, long points, long written)
    {
        _files += files;
        Points += points;
        long ms = _clock.ElapsedMilliseconds;
        double rate = Points / Math.Max(0.001, ms / 1000.0);
        double fraction = totalFiles == 0 ? 1 : (double)_files / totalFiles;
        if (tty)
        {
            int filled = (int)(fraction * 30);
            output.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r[{new string('#', filled)}{new string('-', 30 - filled)}] {_files}/{totalFiles} files {Points:N0} points {rate:N0}/s "));
        }
        else if (_lastLineMs < 0 || ms - _lastLineMs >= 1000 || _files == totalFiles)
        {
            _lastLineMs = ms;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"progress {_files}/{totalFiles} files ({fraction:P0}), {Points} points ({written} written), {rate:F0} points/s"));
        }
        output.Flush();
    }

    public void Note(string line)
    {
        if (tty) output.WriteLine();
        output.WriteLine(line);
    }

    public void Done()
    {
        if (tty) output.WriteLine();
    }
}
