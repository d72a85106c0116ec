using System.Buffers;
using System.Runtime.CompilerServices;

namespace Observe.Collector.Statsd;

/// <summary>
/// The samples of one timer key within one flush interval, stored in the aggregator's dictionary entry. One sample
/// (the common case: a key timed once per interval) lives inline; from the second on they go to a growable buffer
/// rented from <see cref="ArrayPool{T}.Shared"/>, which <see cref="Take"/> hands to the flush and the flush returns.
/// </summary>
internal struct TimerSamples
{
    private double _first;
    private double[]? _buffer;
    /// <summary>Samples held (not the sample-rate-weighted count).</summary>
    public int Length { get; private set; }
    /// <summary>Σ 1/sampleRate: Etsy's <c>timer_counters</c>.</summary>
    public double Count { get; private set; }
    /// <summary>The key's output names by statistic (built by the flush, kept across flushes).</summary>
    public string?[]? Names;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(double value, double count)
    {
        if (Length == 0) _first = value;
        else
        {
            if (_buffer == null)
            {
                _buffer = ArrayPool<double>.Shared.Rent(4);
                _buffer[0] = _first;
            }
            else if (Length == _buffer.Length)
            {
                var bigger = ArrayPool<double>.Shared.Rent(Length * 2);
                _buffer.AsSpan(0, Length).CopyTo(bigger);
                ArrayPool<double>.Shared.Return(_buffer);
                _buffer = bigger;
            }
            _buffer[Length] = value;
        }
        Length++;
        Count += count;
    }

    /// <summary>Moves the samples out and leaves this empty (its names stay); the taken buffer goes back with <see cref="Taken.Return"/>.</summary>
    public Taken Take()
    {
        var t = new Taken(_first, _buffer, Length, Count);
        _buffer = null;
        Length = 0;
        Count = 0;
        return t;
    }

    /// <summary>One flush's samples of a key, outside the aggregator's lock.</summary>
    internal readonly struct Taken(double first, double[]? buffer, int length, double count)
    {
        public int Length => length;
        public double Count => count;

        /// <summary>The samples; a single one is copied into <paramref name="scratch"/> (at least one element).</summary>
        public Span<double> Values(Span<double> scratch)
        {
            if (buffer != null) return buffer.AsSpan(0, length);
            if (length == 0) return [];
            scratch[0] = first;
            return scratch[..1];
        }

        public void Return() { if (buffer != null) ArrayPool<double>.Shared.Return(buffer); }
    }
}
