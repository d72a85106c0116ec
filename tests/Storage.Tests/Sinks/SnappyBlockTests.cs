using System.Text;
using FsCheck;
using Observe.Storage.Sinks.Prometheus;

namespace Observe.Storage.Tests.Sinks;

public class SnappyBlockTests
{
    private static byte[] RoundTrip(byte[] input)
    {
        var block = SnappyBlock.Encode(input);
        Assert.True(block.Length <= SnappyBlock.MaxEncodedLength(input.Length));
        Assert.Equal(input.Length, SnappyBlock.DecodedLength(block));
        return SnappyBlock.Decode(block);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(60)]
    [InlineData(61)]
    [InlineData(256)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(65537)]
    [InlineData(300_000)]
    public void Round_trips_random_and_repetitive_input_of_every_boundary_size(int size)
    {
        var random = new byte[size];
        new Random(size).NextBytes(random);
        Assert.Equal(random, RoundTrip(random));

        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("stats.timers.api.checkout.upper_90 12.5 1700000000\n", size / 50 + 1)))[..size];
        Assert.Equal(text, RoundTrip(text));
    }

    [Fact]
    public void Repetitive_input_compresses_well_and_long_runs_use_overlapping_copies()
    {
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 5000).Select(i => $"stats.timers.shop.api{i % 40}.mean {i % 7}.5 1700000000\n")));
        var block = SnappyBlock.Encode(text);
        Assert.True(block.Length < text.Length / 4, $"{block.Length} of {text.Length}");
        var zeros = new byte[100_000];
        var z = SnappyBlock.Encode(zeros);
        Assert.True(z.Length < 5000, $"{z.Length}");
        Assert.Equal(zeros, SnappyBlock.Decode(z));
    }

    [Fact]
    public void Incompressible_input_grows_by_at_most_the_documented_bound()
    {
        var random = new byte[1 << 20];
        new Random(7).NextBytes(random);
        var block = SnappyBlock.Encode(random);
        Assert.InRange(block.Length, random.Length, random.Length + random.Length / 6 + 32);
    }

    [Fact]
    public void Decodes_a_hand_written_block_with_every_element_kind()
    {
        // header 13; literal "abcd"; 1-byte-offset copy len 4 off 4; 2-byte-offset copy len 3 off 2; 4-byte-offset copy len 2 off 1
        byte[] block = [13, 3 << 2, (byte)'a', (byte)'b', (byte)'c', (byte)'d', 0 << 2 | 1, 4, (3 - 1) << 2 | 2, 2, 0, (2 - 1) << 2 | 3, 1, 0, 0, 0];
        Assert.Equal("abcdabcdcdccc", Encoding.ASCII.GetString(SnappyBlock.Decode(block)));
    }

    [Theory]
    [InlineData(new byte[] { 5, 0 << 2, (byte)'a' })]                    // says 5 bytes, holds 1
    [InlineData(new byte[] { 4, 0 << 2, (byte)'a', 0 << 2 | 1, 9 })]    // copy offset beyond output
    [InlineData(new byte[] { 2, 4 << 2, (byte)'a' })]                    // literal longer than the input
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 })]      // length varint too long
    [InlineData(new byte[] { 3, 0 << 2, (byte)'a', 0 << 2 | 2 })]       // truncated copy
    public void Malformed_blocks_are_refused_not_misread(byte[] block)
    {
        Assert.Throws<InvalidDataException>(() => SnappyBlock.Decode(block));
    }

    [FsCheck.Xunit.Property(MaxTest = 500)]
    public bool Any_input_round_trips(byte[] bytes, PositiveInt repeat)
    {
        // Repeating the random bytes makes matches likely as well as literals.
        var input = Enumerable.Repeat(bytes ?? [], repeat.Get % 20 + 1).SelectMany(b => b).ToArray();
        return RoundTrip(input).AsSpan().SequenceEqual(input);
    }
}
