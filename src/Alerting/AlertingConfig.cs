using Observe.Alerting.Notifiers;
using Observe.Alerting.Pipeline;
using Observe.Common;

namespace Observe.Alerting;

public static class AlertingConfig
{
    /// <summary>Every problem in the <c>alerting:</c> section, each with its key path under <paramref name="prefix"/>.</summary>
    public static IReadOnlyList<ConfigProblem> Validate(AlertingOptions o, string prefix = "alerting")
    {
        var problems = new List<ConfigProblem>();
        void Fail(string key, string message) => problems.Add(new(key, message));
        void Dur(string key, string? value, bool required = false)
        {
            if (value == null) { if (required) Fail(key, "required"); return; }
            if (!DurationSyntax.TryParse(value, out _)) Fail(key, $"'{value}' is not a duration (e.g. 30s, 5m, 4h)");
        }
        void Matchers(string key, List<string> list)
        {
            for (var i = 0; i < list.Count; i++)
                if (!LabelMatcher.TryParse(list[i], out _, out var err)) Fail($"{key}[{i}]", err);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var hasIrc = false;
        for (var i = 0; i < o.Receivers.Count; i++)
        {
            var r = o.Receivers[i];
            var rp = $"{prefix}.receivers[{i}]";
            if (string.IsNullOrWhiteSpace(r.Name)) Fail($"{rp}.name", "every receiver needs a name (routes refer to it)");
            else if (!names.Add(r.Name)) Fail($"{rp}.name", $"duplicate receiver '{r.Name}'");
            if (r.Irc == null && r.Email == null && r.Pagerduty == null && r.Webhook == null) Fail(rp, "give at least one of irc, email, pagerduty, webhook");
            if (r.Irc != null)
            {
                hasIrc = true;
                if (string.IsNullOrWhiteSpace(r.Irc.Channel) || r.Irc.Channel.Any(c => c is ' ' or ',' || char.IsControl(c))) Fail($"{rp}.irc.channel", $"'{r.Irc.Channel}' is not a channel or nick");
            }
            if (r.Email != null)
            {
                if (r.Email.To.Count == 0) Fail($"{rp}.email.to", "give at least one address");
                for (var j = 0; j < r.Email.To.Count; j++)
                    if (!MimeKit.MailboxAddress.TryParse(r.Email.To[j], out _)) Fail($"{rp}.email.to[{j}]", $"'{r.Email.To[j]}' is not a mail address");
                if (string.IsNullOrWhiteSpace(o.Smtp.Host)) Fail($"{prefix}.smtp.host", $"required: receiver '{r.Name}' sends e-mail");
                Dur($"{rp}.email.graphWindow", r.Email.GraphWindow, required: true);
                if (DurationSyntax.TryParse(r.Email.GraphWindow, out var gw) && gw > TimeSpan.FromDays(30)) Fail($"{rp}.email.graphWindow", "at most 30d");
            }
            if (r.Pagerduty != null)
            {
                if (string.IsNullOrWhiteSpace(r.Pagerduty.RoutingKey)) Fail($"{rp}.pagerduty.routingKey", "required: the integration key (routingKeyFile or OBSERVE__… keep it out of the file)");
                Url($"{rp}.pagerduty.url", r.Pagerduty.Url);
            }
            if (r.Webhook != null) Url($"{rp}.webhook.url", r.Webhook.Url);
        }
        void Url(string key, string url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")) Fail(key, $"'{url}' is not an http(s) URL");
        }
        void Receiver(string key, string? name, bool required)
        {
            if (name == null) { if (required) Fail(key, "the root route needs a receiver"); return; }
            if (!names.Contains(name)) Fail(key, $"unknown receiver '{name}' (declared: {string.Join(", ", names)})");
        }
        void Route(RouteOptions r, string rp, bool root)
        {
            Receiver($"{rp}.receiver", r.Receiver, root && (o.Receivers.Count > 0));
            if (root && r.Matchers.Count > 0) Fail($"{rp}.matchers", "the root route matches every alert: put matchers on child routes");
            Matchers($"{rp}.matchers", r.Matchers);
            Dur($"{rp}.groupWait", r.GroupWait); Dur($"{rp}.groupInterval", r.GroupInterval); Dur($"{rp}.repeatInterval", r.RepeatInterval);
            if (r.GroupInterval != null && DurationSyntax.TryParse(r.GroupInterval, out var gi) && gi <= TimeSpan.Zero) Fail($"{rp}.groupInterval", "must be more than 0");
            if (r.GroupBy is { } gb && gb.Contains("...") && gb.Count > 1) Fail($"{rp}.groupBy", "'...' (every label) must be the only entry");
            for (var i = 0; i < (r.Escalation?.Count ?? 0); i++)
            {
                var e = r.Escalation![i];
                Dur($"{rp}.escalation[{i}].after", e.After, required: true);
                Receiver($"{rp}.escalation[{i}].receiver", e.Receiver, true);
            }
            for (var i = 0; i < r.Routes.Count; i++) Route(r.Routes[i], $"{rp}.routes[{i}]", false);
        }
        Route(o.Route, $"{prefix}.route", true);
        for (var i = 0; i < o.InhibitRules.Count; i++)
        {
            var ir = o.InhibitRules[i];
            var ip = $"{prefix}.inhibitRules[{i}]";
            if (ir.SourceMatchers.Count == 0) Fail($"{ip}.sourceMatchers", "give at least one matcher");
            Matchers($"{ip}.sourceMatchers", ir.SourceMatchers);
            Matchers($"{ip}.targetMatchers", ir.TargetMatchers);
        }
        if (hasIrc)
        {
            if (string.IsNullOrWhiteSpace(o.Irc.Server)) Fail($"{prefix}.irc.server", "required: a receiver posts to IRC");
            if (o.Irc.Port is < 1 or > 65535) Fail($"{prefix}.irc.port", $"port {o.Irc.Port} is outside 1–65535");
            if (string.IsNullOrWhiteSpace(o.Irc.Nick) || o.Irc.Nick.Any(c => c == ' ' || char.IsControl(c))) Fail($"{prefix}.irc.nick", $"'{o.Irc.Nick}' is not a nickname");
            if (o.Irc.FloodBurst < 1) Fail($"{prefix}.irc.floodBurst", "must be at least 1");
            if (o.Irc.QueueCapacity < 1) Fail($"{prefix}.irc.queueCapacity", "must be at least 1");
            Dur($"{prefix}.irc.floodInterval", o.Irc.FloodInterval, true);
            Dur($"{prefix}.irc.reconnectMinDelay", o.Irc.ReconnectMinDelay, true);
            Dur($"{prefix}.irc.reconnectMaxDelay", o.Irc.ReconnectMaxDelay, true);
        }
        if (o.Smtp.Port is < 1 or > 65535) Fail($"{prefix}.smtp.port", $"port {o.Smtp.Port} is outside 1–65535");
        if (o.Smtp.Security.ToLowerInvariant() is not ("none" or "starttls" or "tls" or "auto")) Fail($"{prefix}.smtp.security", $"'{o.Smtp.Security}' is not one of none, starttls, tls, auto");
        if (!MimeKit.MailboxAddress.TryParse(o.Smtp.From, out _)) Fail($"{prefix}.smtp.from", $"'{o.Smtp.From}' is not a mail address");
        foreach (var p in NotificationText.UnknownPlaceholders(o.Templates.IrcLine)) Fail($"{prefix}.templates.ircLine", $"unknown placeholder {{{p}}}");
        foreach (var p in NotificationText.UnknownPlaceholders(o.Templates.MailSubject)) Fail($"{prefix}.templates.mailSubject", $"unknown placeholder {{{p}}}");
        if (o.Delivery.MaxAttempts < 1) Fail($"{prefix}.delivery.maxAttempts", "must be at least 1");
        if (o.Delivery.QueueCapacity < 1) Fail($"{prefix}.delivery.queueCapacity", "must be at least 1");
        Dur($"{prefix}.delivery.initialBackoff", o.Delivery.InitialBackoff, true);
        Dur($"{prefix}.delivery.maxBackoff", o.Delivery.MaxBackoff, true);
        Dur($"{prefix}.delivery.timeout", o.Delivery.Timeout, true);
        if (o.HistoryLimit < 1) Fail($"{prefix}.historyLimit", "must be at least 1");
        return problems;
    }
}
