namespace Observe.Alerting;

/// <summary>
/// The <c>alerting:</c> section of observe.yaml: receivers, the routing tree, inhibition, IRC and SMTP
/// connections, templates and delivery retries. Durations are strings with a unit (<c>30s</c>, <c>5m</c>, <c>4h</c>).
/// Secrets (SMTP and NickServ passwords, PagerDuty routing keys) are plain strings; the config binder fills them from
/// <c>xFile</c> keys or <c>OBSERVE__…</c> variables so they stay out of the file.
/// </summary>
public sealed class AlertingOptions
{
    public bool Enabled { get; set; } = true;
    /// <summary>The root of the routing tree; it matches every alert.</summary>
    public RouteOptions Route { get; set; } = new();
    public List<ReceiverOptions> Receivers { get; set; } = [];
    public List<InhibitRuleOptions> InhibitRules { get; set; } = [];
    public IrcOptions Irc { get; set; } = new();
    public SmtpOptions Smtp { get; set; } = new();
    public TemplateOptions Templates { get; set; } = new();
    public DeliveryOptions Delivery { get; set; } = new();
    /// <summary>Entries kept for <c>GET /api/alerts/history</c> (oldest dropped first).</summary>
    public int HistoryLimit { get; set; } = 10_000;
    /// <summary>Keep firing alerts, what each receiver was told, escalation progress, acks and history in
    /// <c>&lt;dataDir&gt;/alerting/state.db</c> across restarts (false: memory only).</summary>
    public bool PersistState { get; set; } = true;
}

/// <summary>A node of the routing tree (Alertmanager's <c>route</c>): unset values are inherited from the parent.</summary>
public sealed class RouteOptions
{
    public string? Receiver { get; set; }
    /// <summary>Label matchers: <c>host=web1</c>, <c>check!=_host</c>, <c>service=~api|web</c>, <c>env!~dev.*</c>; all must match.</summary>
    public List<string> Matchers { get; set; } = [];
    /// <summary>Labels whose values make a group; <c>[...]</c> groups by every label (no grouping). Null inherits.</summary>
    public List<string>? GroupBy { get; set; }
    public string? GroupWait { get; set; }
    public string? GroupInterval { get; set; }
    public string? RepeatInterval { get; set; }
    /// <summary>After this route matched, keep looking at its siblings.</summary>
    public bool Continue { get; set; }
    /// <summary>Escalation: a firing alert not acknowledged within <c>after</c> also goes to <c>receiver</c>. Null inherits.</summary>
    public List<EscalationOptions>? Escalation { get; set; }
    public List<RouteOptions> Routes { get; set; } = [];
}

public sealed class EscalationOptions
{
    public string After { get; set; } = "";
    public string Receiver { get; set; } = "";
}

/// <summary>A named receiver: any of IRC, e-mail, PagerDuty and webhook, each delivered (and retried) on its own.</summary>
public sealed class ReceiverOptions
{
    public string Name { get; set; } = "";
    public IrcReceiverOptions? Irc { get; set; }
    public EmailReceiverOptions? Email { get; set; }
    public PagerDutyReceiverOptions? Pagerduty { get; set; }
    public WebhookReceiverOptions? Webhook { get; set; }
}

public sealed class IrcReceiverOptions
{
    /// <summary>Channel (<c>#ops</c>) or nick to post to; channels are joined on connect.</summary>
    public string Channel { get; set; } = "";
}

public sealed class EmailReceiverOptions
{
    public List<string> To { get; set; } = [];
    /// <summary>History in the graph a metric check's alert mail carries inline (a duration, at most 30d); 0 = no graph.</summary>
    public string GraphWindow { get; set; } = "6h";
}

public sealed class PagerDutyReceiverOptions
{
    public string RoutingKey { get; set; } = "";
    /// <summary>Events API v2 endpoint; point it at a self-hosted receiver if you have one.</summary>
    public string Url { get; set; } = "https://events.pagerduty.com/v2/enqueue";
}

public sealed class WebhookReceiverOptions
{
    public string Url { get; set; } = "";
}

/// <summary>Alertmanager inhibition: a firing source alert mutes target alerts whose <c>equal</c> labels have the same values.</summary>
public sealed class InhibitRuleOptions
{
    public List<string> SourceMatchers { get; set; } = [];
    public List<string> TargetMatchers { get; set; } = [];
    public List<string> Equal { get; set; } = [];
}

/// <summary>The one persistent IRC connection every IRC receiver posts through.</summary>
public sealed class IrcOptions
{
    public string Server { get; set; } = "";
    public int Port { get; set; } = 6667;
    public bool Tls { get; set; }
    /// <summary>Verify the server certificate (turn off only for a self-signed test server).</summary>
    public bool TlsVerify { get; set; } = true;
    public string Nick { get; set; } = "observe";
    public string User { get; set; } = "observe";
    public string RealName { get; set; } = "Observe alerts";
    /// <summary>Server password (PASS), if the server wants one.</summary>
    public string? Password { get; set; }
    /// <summary>Sent as <c>PRIVMSG NickServ :IDENTIFY &lt;password&gt;</c> after registration.</summary>
    public string? NickservPassword { get; set; }
    /// <summary>Channels joined on connect besides those the receivers name.</summary>
    public List<string> Channels { get; set; } = [];
    /// <summary>Post with NOTICE (bots should: no automatic replies); false = PRIVMSG.</summary>
    public bool UseNotice { get; set; } = true;
    /// <summary>mIRC colour codes for the status word.</summary>
    public bool Colors { get; set; }
    /// <summary>Token bucket: lines that may go at once, and the time that earns one more (RFC 1459 §8.10 penalty is 2 s).</summary>
    public int FloodBurst { get; set; } = 4;
    public string FloodInterval { get; set; } = "2s";
    public string ReconnectMinDelay { get; set; } = "1s";
    public string ReconnectMaxDelay { get; set; } = "60s";
    /// <summary>Lines kept while disconnected; beyond it the oldest are dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 10_000;
}

public sealed class SmtpOptions
{
    public string Host { get; set; } = "";
    public int Port { get; set; } = 25;
    /// <summary>none, starttls (required), tls (implicit, port 465) or auto (STARTTLS when offered).</summary>
    public string Security { get; set; } = "auto";
    public string? Username { get; set; }
    public string? Password { get; set; }
    public string From { get; set; } = "observe@localhost";
}

/// <summary>
/// Notification text. Placeholders: <c>{status}</c> (FIRING, RESOLVED, ANNOUNCE, ACK), <c>{count}</c>, <c>{group}</c>
/// (the group labels as k=v), <c>{summary}</c> (the alerts' summaries joined by "; "), <c>{receiver}</c>,
/// <c>{labels.NAME}</c> (a label the alerts share).
/// </summary>
public sealed class TemplateOptions
{
    public string IrcLine { get; set; } = "[{status}{countSuffix}] {summary}";
    public string MailSubject { get; set; } = "[{status}{countSuffix}] {group}";
}

public sealed class DeliveryOptions
{
    /// <summary>Attempts per notification and integration before it is recorded as failed.</summary>
    public int MaxAttempts { get; set; } = 8;
    public string InitialBackoff { get; set; } = "1s";
    public string MaxBackoff { get; set; } = "60s";
    public string Timeout { get; set; } = "10s";
    /// <summary>Notifications queued per integration; when full the oldest is dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 1000;
}
