using System.Text.Json;
using System.Text.Json.Serialization;

namespace Observe.Common;

/// <summary>The JSON options shared by more than one stage (never mutated: the serializer freezes them on first use).</summary>
public static class JsonDefaults
{
    /// <summary>The HTTP APIs' answers: camelCase names and enums, nulls left out.</summary>
    public static readonly JsonSerializerOptions Api = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>State persisted by the stages (check and alert state): the web defaults, nothing else, so stored rows stay readable.</summary>
    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}
