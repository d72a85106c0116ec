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
    }

    [Fact]
    public void A_secret_may_come_from_the_environment_and_an_unset_one_is_reported_without_a_value()
    {
        var o = new AlertingOptions
        {
            Route = new RouteOptions { Receiver = "pager" },
            Receivers = [new ReceiverOptions { Name = "pager", Pagerduty = new() { RoutingKey = "env:OBSERVE_TEST_UNSET_PD_KEY" } }],
        };
        var p = Assert.Single(AlertingConfig.Validate(o));
        Assert.Equal("alerting.receivers[0].pagerduty.routingKey", p.KeyPath);
        Assert.Contains("OBSERVE_TEST_UNSET_PD_KEY is not set", p.Message);
        Environment.SetEnvironmentVariable("OBSERVE_TEST_PD_KEY", "k3y-from-env");
        Assert.Equal("k3y-from-env", Secrets.Resolve("env:OBSERVE_TEST_PD_KEY"));
        Assert.Equal("literal", Secrets.Resolve("literal"));
    }
}
