using Observe.Storage.Graphite;
using Observe.TestSupport;

namespace Observe.Storage.Tests.Graphite;

public class GraphiteEventStoreTests
{
    [Fact]
    public void Add_and_find_with_tag_sets()
    {
        var dir = Repo.TempDir("events");
        using var store = GraphiteEventStore.Open(dir);
        Assert.Equal(1, store.Add("deploy api", ["deploy", "api", "prod"], "v1", 100));
        store.Add("deploy web", ["deploy web prod"], "v2", 200);
        store.Add("restart", ["ops"], null, 300);
        Assert.Equal(3, store.Find(null, null, null, null).Count);
        Assert.Equal(["deploy api", "deploy web"], store.Find(0, 1000, ["deploy", "prod"], null).Select(e => e.What));
        Assert.Equal(["deploy web", "restart"], store.Find(0, 1000, ["web", "ops"], "union").Select(e => e.What));
        Assert.Empty(store.Find(0, 1000, ["web", "ops"], "intersection"));
        Assert.Equal(["deploy api"], store.Find(100, 199, null, null).Select(e => e.What));
        Assert.Equal(["deploy", "web", "prod"], store.Find(200, 200, null, null).Single().Tags);
    }
}
