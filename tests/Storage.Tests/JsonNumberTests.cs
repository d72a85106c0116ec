using System.Text;
using FsCheck.Xunit;
using Observe.Storage.Graphite;

namespace Observe.Storage.Tests;

public class JsonNumberTests
{
    [Property(MaxTest = 2000)]
    public bool FastPathEqualsPythonRepr(double d, int num, byte den, ulong raw)
    {
        foreach (var v in new double?[] { d, num / (double)(den + 1), BitConverter.Int64BitsToDouble((long)raw), num, num * 1e-4, num * 1e9, null })
        {
            var sb = new StringBuilder();
            GraphiteApi.AppendJsonNumber(sb, v);
            if (sb.ToString() != GraphiteApi.JsonNumber(v)) return false;
        }
        return true;
    }
}
