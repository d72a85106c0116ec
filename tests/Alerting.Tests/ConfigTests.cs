namespace Observe.Alerting.Tests;

public class ConfigTests
{
    [Fact]
    public void Defaults_validate()
    {
        Assert.Empty(AlertingConfig.Validate(new AlertingOptions()));
    }

    [Fact]
    public void Every_problem_is_named_with_its_key_path()
    {
        var o = new AlertingOptions
        {
            Route = new RouteOptions
            {
                Receiver = "ops", GroupWait = "soon",
                Routes = [new RouteOptions { Receiver = "ghost", Matchers = ["=x"], Escalation = [new() { After = "", Receiver = "ops" }] }],
            },
            Receivers =
            [
                new ReceiverOptions { Name = "ops", Irc = new() { Channel = "#ops" }, Email = new() { To = ["not an address"] } },
                new ReceiverOptions { Name = "ops", Pagerduty = new() { RoutingKey = "" }, Webhook = new() { Url = "ftp://x" } },
                new ReceiverOptions { Name = "empty" },
                new ReceiverOptions { Name = "graphs", Email = new() { To = ["a@example.com"], GraphWindow = "90d" } },
                new ReceiverOptions { Name = "graphs2", Email = new() { To = ["a@example.com"], GraphWindow = "soon" } },
            ],
            Templates = new TemplateOptions { IrcLine = "{oops}" },
        };
        var keys = AlertingConfig.Validate(o).Select(p => p.KeyPath).ToList();
        Assert.Contains("alerting.route.groupWait", keys);
        Assert.Contains("alerting.route.routes[0].receiver", keys);
        Assert.Contains("alerting.route.routes[0].matchers[0]", keys);
        Assert.Contains("alerting.route.routes[0].escalation[0].after", keys);
        Assert.Contains("alerting.receivers[1].name", keys);
        Assert.Contains("alerting.receivers[0].email.to[0]", keys);
        Assert.Contains("alerting.smtp.host", keys);
        Assert.Contains("alerting.irc.server", keys);
        Assert.Contains("alerting.receivers[1].pagerduty.routingKey", keys);
        Assert.Contains("alerting.receivers[1].webhook.url", keys);
        Assert.Contains("alerting.receivers[2]", keys);
        Assert.Contains("alerting.templates.ircLine", keys);
        Assert.Contains("alerting.receivers[3].email.graphWindow", keys); // more than 30d of graph
        Assert.Contains("alerting.receivers[4].email.graphWindow", keys);
    }
}
