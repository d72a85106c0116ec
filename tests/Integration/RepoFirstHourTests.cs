using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Observe.TestSupport;
using Xunit.Abstractions;

namespace Observe.Integration;

/// <summary>What a fresh clone tells and does before anything runs: the README's test set-up, the Docker build context, git.</summary>
public class RepoFirstHourTests(ITestOutputHelper output)
{
    [Fact]
    public void The_README_says_test_sh_needs_root_and_names_everything_install_sh_installs()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var from = readme.IndexOf("Run every test", StringComparison.Ordinal);
        var to = readme.IndexOf("./test.sh\n```", from, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, "the README's paragraph about ./test.sh");
        var paragraph = Regex.Replace(readme[from..to], @"\s+", " ");
        Assert.Contains("needs root", paragraph);
        var install = File.ReadAllText(Path.Combine(Repo.Root, "tests", "peers", "install.sh"));
        var apt = Regex.Matches(install, @"apt_pkgs\+?=\(([^)]*)\)").SelectMany(m => m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        using var npm = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repo.Root, "tests", "peers", "package.json")));
        var everything = apt.Concat(npm.RootElement.GetProperty("dependencies").EnumerateObject().Select(p => p.Name)).Append("prometheus").ToList();
        Assert.True(everything.Count > 15);
        Assert.All(everything, name => Assert.Matches($@"(^|[\s,(+]){Regex.Escape(name)}([\s,)+.:;]|$)", paragraph));
    }

    [Fact]
    public void The_docker_build_context_holds_the_sources_and_not_build_output_tests_or_data()
    {
        var ignore = Path.Combine(Repo.Root, ".dockerignore");
        Assert.True(File.Exists(ignore), "no .dockerignore: docker build would send bin/, obj/, tests/peers, data and publish/");
        // Docker's rules for the patterns used here: a leading / is the root, ** any depth, * within a name, and a
        // pattern that matches a directory excludes what is below it.
        var patterns = File.ReadAllLines(ignore).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(p => new Regex("^" + Regex.Escape(p.Trim('/')).Replace(@"\*\*/", "(.*/)?").Replace(@"\*", "[^/]*") + "$")).ToList();
        bool Excluded(string relative) => patterns.Any(p => p.IsMatch(relative));
        long bytes = 0;
        var sent = new List<string>();
        void Walk(string dir)
        {
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                var relative = Path.GetRelativePath(Repo.Root, entry.FullName);
                if (Excluded(relative)) continue;
                if (entry is DirectoryInfo d) { if (!d.Attributes.HasFlag(FileAttributes.ReparsePoint)) Walk(d.FullName); }
                else { sent.Add(relative); bytes += ((FileInfo)entry).Length; }
            }
        }
        Walk(Repo.Root);
        output.WriteLine($"{sent.Count} files, {bytes / 1024} KiB");
        Assert.Contains("src/Observe/Observe.csproj", sent);
        Assert.Contains("deploy/publish.sh", sent);
        Assert.Contains("Directory.Packages.props", sent);
        Assert.DoesNotContain(sent, f => f.Contains("/bin/") || f.Contains("/obj/") || f.StartsWith("tests/") || f.StartsWith("data/") || f.StartsWith("publish/"));
        Assert.InRange(bytes, 1, 20L << 20);
    }

    [Fact]
    public void Publish_output_is_ignored_by_git()
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = Repo.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "check-ignore", "-q", "publish/observe" }) psi.ArgumentList.Add(a);
        using var git = Process.Start(psi)!;
        git.WaitForExit(30_000);
        Assert.Equal(0, git.ExitCode);
    }
}
