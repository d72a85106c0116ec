namespace Observe.Storage.Sinks.Elasticsearch;

/// <summary><c>sinks.elasticsearch:</c> — log events to Elasticsearch's <c>_bulk</c> API, through a disk spool.</summary>
public sealed class ElasticsearchSinkOptions
{
    public bool Enabled { get; set; }
    /// <summary>Names the spool directory and the sink in /stats.</summary>
    public string Name { get; set; } = "elasticsearch";
    /// <summary>The cluster's base URL, e.g. <c>http://127.0.0.1:9200</c>.</summary>
    public string Url { get; set; } = "http://127.0.0.1:9200";
    /// <summary>Index name per event; <c>{…}</c> is a .NET date format applied to the event's UTC timestamp.</summary>
    public string Index { get; set; } = "observe-logs-{yyyy.MM.dd}";
    /// <summary>Name of the composable index template PUT on start (its pattern is <see cref="Index"/> with the date part as <c>*</c>).</summary>
    public string TemplateName { get; set; } = "observe-logs";
    /// <summary>Install (overwrite) the index template on start.</summary>
    public bool InstallTemplate { get; set; } = true;
    public string? Username { get; set; }
    /// <summary>Basic-auth password (secret).</summary>
    public string? Password { get; set; }
    /// <summary>Sent as <c>Authorization: ApiKey …</c> (the base64 "encoded" form Elasticsearch returns; secret).</summary>
    public string? ApiKey { get; set; }
    public int TimeoutSeconds { get; set; } = 30;
}
