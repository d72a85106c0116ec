using System.Buffers.Binary;
using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;

namespace Observe.Collector.Listeners;

/// <summary>Why a pickle frame was not decoded; <see cref="None"/> = decoded.</summary>
internal enum PickleError
{
    None,
    /// <summary>An opcode outside the whitelist (GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, EXT*, PERSID, dicts, sets …).</summary>
    Refused,
    /// <summary>Truncated, unbalanced or otherwise not a pickle.</summary>
    Malformed,
    /// <summary>Containers nested deeper than <see cref="PickleLimits.MaxDepth"/>.</summary>
    TooDeep,
    /// <summary>More than <see cref="PickleLimits.MaxItems"/> values built.</summary>
    TooManyItems,
    /// <summary>A memo key at or beyond <see cref="PickleLimits.MaxMemo"/>.</summary>
    MemoTooLarge,
}

/// <summary>Bounds on one pickle frame: container nesting, values built, memo entries.</summary>
internal readonly record struct PickleLimits(int MaxDepth, int MaxItems, int MaxMemo);

/// <summary>
/// A whitelist unpickler for carbon's pickle protocol (a list of <c>(path, (timestamp, value))</c>), over the frame's
/// bytes. It knows only the opcodes of protocols 0–5 that build lists, tuples, byte and text strings, ints, longs,
/// floats, None and bools, plus marks, the memo and framing; anything else is <see cref="PickleError.Refused"/> before
/// it has any effect, so no pickle can name a callable. It never throws on any input; it allocates only when its
/// pooled buffers grow (bounded by <see cref="PickleLimits"/>). One instance per connection (not thread-safe).
/// </summary>
internal sealed class PickleDecoder(PickleLimits limits)
{
    private enum Kind : byte { None, Bool, Int, Float, Str, ScratchStr, List, Tuple }

    /// <summary>One value. Str: bytes [A, A+B) of the frame (ScratchStr: of the scratch buffer); Tuple: items [A, A+B)
    /// of the tuple store; List: list number A. Num holds the number for Bool/Int/Float.</summary>
    private struct Value
    {
        public Kind Kind;
        public int Depth;
        public double Num;
        public int A, B;
    }

    private readonly List<Value> _stack = new();
    private readonly List<int> _marks = new();
    private readonly List<Value> _tupleItems = new();
    private readonly List<List<Value>> _lists = new();
    private readonly List<int> _listDepths = new();
    private int _listCount, _items;
    private Value[] _memo = new Value[16];
    private bool[] _memoSet = new bool[16];
    private int _memoMax = -1, _memoNext;
    private byte[] _scratch = new byte[256];
    private int _scratchLength;
    private Value _result;

    /// <summary>Points in the decoded frame (the top list's length).</summary>
    public int Count { get; private set; }

    /// <summary>Decodes one frame (the bytes after carbon's 4-byte length). On success <see cref="Count"/> items can be read.</summary>
    public PickleError Decode(ReadOnlySpan<byte> frame)
    {
        Reset();
        PickleError error;
        try { error = Run(frame); }
        catch (Exception e) when (e is ArgumentOutOfRangeException or IndexOutOfRangeException or OverflowException) { error = PickleError.Malformed; }
        if (error != PickleError.None) { Reset(); return error; }
        if (!TryElements(_result, out var top)) { Reset(); return PickleError.Malformed; }
        Count = top.Length;
        return PickleError.None;
    }

    /// <summary>
    /// Item <paramref name="index"/> as carbon reads it: <c>(path, (timestamp, value))</c> with numbers or numeric strings
    /// (Etsy statsd sends the value as a string). False for an item of another shape (carbon skips those too).
    /// </summary>
    public bool TryGetPoint(ReadOnlySpan<byte> frame, int index, out ReadOnlySpan<byte> path, out double timestamp, out double value)
    {
        path = default; timestamp = value = 0;
        if (!TryElements(_result, out var top) || (uint)index >= (uint)top.Length) return false;
        if (!TryElements(top[index], out var pair) || pair.Length != 2) return false;
        if (!TryString(frame, pair[0], out path)) return false;
        if (!TryElements(pair[1], out var datapoint) || datapoint.Length != 2) return false;
        return TryNumber(frame, datapoint[0], out timestamp) && TryNumber(frame, datapoint[1], out value);
    }

    private void Reset()
    {
        _stack.Clear(); _marks.Clear(); _tupleItems.Clear();
        for (var i = 0; i < _listCount; i++) _lists[i].Clear();
        _listDepths.Clear();
        _listCount = 0; _items = 0; _scratchLength = 0;
        if (_memoMax >= 0) Array.Clear(_memoSet, 0, _memoMax + 1);
        _memoMax = -1; _memoNext = 0;
        _result = default; Count = 0;
    }

    private PickleError Run(ReadOnlySpan<byte> f)
    {
        var pos = 0;
        while (pos < f.Length)
        {
            var op = f[pos++];
            PickleError e;
            switch (op)
            {
                case 0x80: // PROTO
                    if (pos >= f.Length || f[pos++] > 5) return PickleError.Malformed;
                    continue;
                case 0x95: // FRAME (protocol 4): a length to skip
                    pos += 8;
                    if (pos > f.Length) return PickleError.Malformed;
                    continue;
                case (byte)'.': // STOP
                    // Like pickle.loads, bytes after STOP are ignored.
                    if (_stack.Count == 0 || _marks.Count != 0) return PickleError.Malformed;
                    _result = _stack[^1];
                    return PickleError.None;
                case (byte)'(': // MARK
                    if (_marks.Count >= limits.MaxDepth) return PickleError.TooDeep;
                    _marks.Add(_stack.Count);
                    continue;
                case (byte)'0': // POP
                    if (_stack.Count > Floor) _stack.RemoveAt(_stack.Count - 1);
                    else if (_marks.Count > 0) _marks.RemoveAt(_marks.Count - 1);
                    else return PickleError.Malformed;
                    continue;
                case (byte)'1': // POP_MARK
                    if (_marks.Count == 0) return PickleError.Malformed;
                    _stack.RemoveRange(_marks[^1], _stack.Count - _marks[^1]);
                    _marks.RemoveAt(_marks.Count - 1);
                    continue;
                case (byte)'2': // DUP
                    if (!TryTop(out var top)) return PickleError.Malformed;
                    e = Push(top);
                    break;
                case (byte)'N': e = Push(new Value { Kind = Kind.None }); break;
                case 0x88: e = Push(new Value { Kind = Kind.Bool, Num = 1 }); break; // NEWTRUE
                case 0x89: e = Push(new Value { Kind = Kind.Bool, Num = 0 }); break; // NEWFALSE
                case (byte)'I': // INT: decimal line; "01"/"00" are True/False in protocol 0
                    {
                        if (!TryLine(f, ref pos, out var line)) return PickleError.Malformed;
                        if (line.SequenceEqual("01"u8) || line.SequenceEqual("00"u8)) { e = Push(new Value { Kind = Kind.Bool, Num = line[1] - '0' }); break; }
                        if (!TryDecimal(line, out var n)) return PickleError.Malformed;
                        e = Push(Number(Kind.Int, n));
                        break;
                    }
                case (byte)'L': // LONG: decimal line with an optional trailing L
                    {
                        if (!TryLine(f, ref pos, out var line)) return PickleError.Malformed;
                        if (line.Length > 0 && line[^1] == 'L') line = line[..^1];
                        if (!TryDecimal(line, out var n)) return PickleError.Malformed;
                        e = Push(Number(Kind.Int, n));
                        break;
                    }
                case (byte)'F': // FLOAT: repr line
                    {
                        if (!TryLine(f, ref pos, out var line) || !TryParseFloat(line, out var d)) return PickleError.Malformed;
                        e = Push(Number(Kind.Float, d));
                        break;
                    }
                case (byte)'J': e = Push(Number(Kind.Int, BinaryPrimitives.ReadInt32LittleEndian(Take(f, ref pos, 4)))); break; // BININT
                case (byte)'K': e = Push(Number(Kind.Int, Take(f, ref pos, 1)[0])); break; // BININT1
                case (byte)'M': e = Push(Number(Kind.Int, BinaryPrimitives.ReadUInt16LittleEndian(Take(f, ref pos, 2)))); break; // BININT2
                case 0x8a: e = Push(Number(Kind.Int, Long(Take(f, ref pos, Take(f, ref pos, 1)[0])))); break; // LONG1
                case 0x8b: e = Push(Number(Kind.Int, Long(Take(f, ref pos, Length(BinaryPrimitives.ReadInt32LittleEndian(Take(f, ref pos, 4))))))); break; // LONG4
                case (byte)'G': e = Push(Number(Kind.Float, BinaryPrimitives.ReadDoubleBigEndian(Take(f, ref pos, 8)))); break; // BINFLOAT
                case (byte)'S': // STRING: a quoted, backslash-escaped line (Python 2's repr)
                    {
                        if (!TryLine(f, ref pos, out var line) || line.Length < 2 || line[0] != line[^1] || line[0] is not ((byte)'\'' or (byte)'"'))
                            return PickleError.Malformed;
                        if (!TryEscapeDecode(line[1..^1], out var s)) return PickleError.Malformed;
                        e = Push(s);
                        break;
                    }
                case (byte)'V': // UNICODE: raw-unicode-escape line
                    {
                        if (!TryLine(f, ref pos, out var line) || !TryRawUnicodeDecode(line, out var s)) return PickleError.Malformed;
                        e = Push(s);
                        break;
                    }
                case (byte)'T' or (byte)'X' or (byte)'B': // BINSTRING, BINUNICODE, BINBYTES: 4-byte length
                    e = PushFrameString(f, ref pos, Length(BinaryPrimitives.ReadInt32LittleEndian(Take(f, ref pos, 4))));
                    break;
                case (byte)'U' or 0x8c or (byte)'C': // SHORT_BINSTRING, SHORT_BINUNICODE, SHORT_BINBYTES: 1-byte length
                    e = PushFrameString(f, ref pos, Take(f, ref pos, 1)[0]);
                    break;
                case 0x8d or 0x8e: // BINUNICODE8, BINBYTES8
                    e = PushFrameString(f, ref pos, Length(BinaryPrimitives.ReadInt64LittleEndian(Take(f, ref pos, 8))));
                    break;
                case (byte)']': e = NewList(0); break; // EMPTY_LIST
                case (byte)'l': // LIST from the mark
                    if (!TryPopMark(out var listCount)) return PickleError.Malformed;
                    e = NewList(listCount);
                    break;
                case (byte)')': e = NewTuple(0); break; // EMPTY_TUPLE
                case (byte)'t': // TUPLE from the mark
                    if (!TryPopMark(out var tupleCount)) return PickleError.Malformed;
                    e = NewTuple(tupleCount);
                    break;
                case 0x85 or 0x86 or 0x87: e = NewTuple(op - 0x84); break; // TUPLE1..3
                case (byte)'a': e = Append(1); break; // APPEND
                case (byte)'e': // APPENDS from the mark
                    if (!TryPopMark(out var appendCount)) return PickleError.Malformed;
                    e = Append(appendCount);
                    break;
                case (byte)'p': // PUT: decimal line
                    {
                        if (!TryLine(f, ref pos, out var line) || !TryDecimal(line, out var k)) return PickleError.Malformed;
                        e = Put(k);
                        break;
                    }
                case (byte)'q': e = Put(Take(f, ref pos, 1)[0]); break; // BINPUT
                case (byte)'r': e = Put(BinaryPrimitives.ReadUInt32LittleEndian(Take(f, ref pos, 4))); break; // LONG_BINPUT
                case 0x94: e = Put(_memoNext); break; // MEMOIZE
                case (byte)'g': // GET: decimal line
                    {
                        if (!TryLine(f, ref pos, out var line) || !TryDecimal(line, out var k)) return PickleError.Malformed;
                        e = Get(k);
                        break;
                    }
                case (byte)'h': e = Get(Take(f, ref pos, 1)[0]); break; // BINGET
                case (byte)'j': e = Get(BinaryPrimitives.ReadUInt32LittleEndian(Take(f, ref pos, 4))); break; // LONG_BINGET
                default:
                    // GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ(_EX), EXT1/2/4, PERSID, BINPERSID, dicts, sets,
                    // bytearrays, out-of-band buffers, and any byte that is no opcode at all.
                    return PickleError.Refused;
            }
            if (e != PickleError.None) return e;
        }
        return PickleError.Malformed; // no STOP
    }

    /// <summary>Ends the innermost mark; <paramref name="count"/> = the values above it.</summary>
    private bool TryPopMark(out int count)
    {
        count = 0;
        if (_marks.Count == 0) return false;
        count = _stack.Count - _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        return true;
    }

    /// <summary>As in Python 3, a mark hides what is below it until it is ended.</summary>
    private int Floor => _marks.Count > 0 ? _marks[^1] : 0;

    private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> f, ref int pos, int count)
    {
        var s = f.Slice(pos, count); // out of range → Malformed (caught in Decode)
        pos += count;
        return s;
    }

    private static int Length(long n) => n is < 0 or > int.MaxValue ? throw new OverflowException() : (int)n;

    private static bool TryLine(ReadOnlySpan<byte> f, ref int pos, out ReadOnlySpan<byte> line)
    {
        var end = f[pos..].IndexOf((byte)'\n');
        if (end < 0) { line = default; return false; }
        line = f.Slice(pos, end);
        pos += end + 1;
        return true;
    }

    private static bool TryDecimal(ReadOnlySpan<byte> s, out double n)
    {
        if (Utf8Parser.TryParse(s, out long l, out var used) && used == s.Length) { n = l; return true; }
        // Longer than 64 bits: only the magnitude matters here (a timestamp or value as a float).
        return TryParseFloat(s, out n) && s.IndexOfAny("eE."u8) < 0 && !double.IsNaN(n);
    }

    private static bool TryParseFloat(ReadOnlySpan<byte> s, out double d)
    {
        s = s.Trim(" \t\r\n"u8);
        if (Utf8Parser.TryParse(s, out d, out var used) && used == s.Length) return true;
        // Python's float() also reads these spellings (repr writes inf and nan).
        if (s.Length is 0 or > 16) return false;
        Span<byte> t = stackalloc byte[s.Length];
        for (var i = 0; i < s.Length; i++) t[i] = s[i] is >= (byte)'A' and <= (byte)'Z' ? (byte)(s[i] | 0x20) : s[i];
        var neg = t.Length > 0 && t[0] == '-';
        if (t.Length > 0 && t[0] is (byte)'-' or (byte)'+') t = t[1..];
        if (t.SequenceEqual("inf"u8) || t.SequenceEqual("infinity"u8)) { d = neg ? double.NegativeInfinity : double.PositiveInfinity; return true; }
        if (t.SequenceEqual("nan"u8)) { d = double.NaN; return true; }
        return false;
    }

    /// <summary>Little-endian two's complement, as LONG1/LONG4 carry it; beyond 64 bits as a (rounded) double.</summary>
    private static double Long(ReadOnlySpan<byte> b)
    {
        if (b.Length == 0) return 0;
        if (b.Length <= 8)
        {
            Span<byte> eight = stackalloc byte[8];
            eight.Fill((b[^1] & 0x80) != 0 ? (byte)0xff : (byte)0);
            b.CopyTo(eight);
            return BinaryPrimitives.ReadInt64LittleEndian(eight);
        }
        double r = 0;
        for (var i = b.Length - 1; i >= 0; i--) r = r * 256 + b[i];
        if ((b[^1] & 0x80) != 0) r -= Math.Pow(256, b.Length);
        return r;
    }

    private static Value Number(Kind kind, double n) => new() { Kind = kind, Num = n };

    private bool TryTop(out Value v)
    {
        v = default;
        if (_stack.Count <= Floor) return false;
        v = _stack[^1];
        return true;
    }

    private PickleError Push(Value v)
    {
        if (++_items > limits.MaxItems) return PickleError.TooManyItems;
        _stack.Add(v);
        return PickleError.None;
    }

    private PickleError PushFrameString(ReadOnlySpan<byte> f, ref int pos, int length)
    {
        var start = pos;
        Take(f, ref pos, length);
        return Push(new Value { Kind = Kind.Str, A = start, B = length });
    }

    private PickleError NewList(int count)
    {
        if (count < 0 || _stack.Count - count < Floor) return PickleError.Malformed;
        if (_listCount == _lists.Count) _lists.Add(new List<Value>());
        var index = _listCount++;
        _listDepths.Add(1);
        var from = _stack.Count - count;
        var depth = 1;
        for (var i = from; i < _stack.Count; i++) depth = Math.Max(depth, _stack[i].Kind == Kind.List ? _listDepths[_stack[i].A] + 1 : _stack[i].Depth + 1);
        if (depth > limits.MaxDepth) return PickleError.TooDeep;
        _listDepths[index] = depth;
        _lists[index].AddRange(CollectionsMarshal.AsSpan(_stack).Slice(from, count));
        _stack.RemoveRange(from, count);
        return Push(new Value { Kind = Kind.List, A = index });
    }

    private PickleError NewTuple(int count)
    {
        var from = _stack.Count - count;
        if (count < 0 || from < Floor) return PickleError.Malformed;
        var depth = 1;
        for (var i = from; i < _stack.Count; i++) depth = Math.Max(depth, DepthOf(_stack[i]) + 1);
        if (depth > limits.MaxDepth) return PickleError.TooDeep;
        var start = _tupleItems.Count;
        _tupleItems.AddRange(CollectionsMarshal.AsSpan(_stack).Slice(from, count));
        _stack.RemoveRange(from, count);
        return Push(new Value { Kind = Kind.Tuple, Depth = depth, A = start, B = count });
    }

    private int DepthOf(in Value v) => v.Kind == Kind.List ? _listDepths[v.A] : v.Depth;

    /// <summary>Appends the top <paramref name="count"/> values to the list below them (a list may hold itself: the depth bound ends that).</summary>
    private PickleError Append(int count)
    {
        var listAt = _stack.Count - count - 1;
        if (count < 0 || listAt < Floor || _stack[listAt].Kind != Kind.List) return PickleError.Malformed;
        var index = _stack[listAt].A;
        var depth = _listDepths[index];
        for (var i = listAt + 1; i < _stack.Count; i++) depth = Math.Max(depth, DepthOf(_stack[i]) + 1);
        if (depth > limits.MaxDepth) return PickleError.TooDeep;
        _listDepths[index] = depth;
        _lists[index].AddRange(CollectionsMarshal.AsSpan(_stack).Slice(listAt + 1, count));
        _stack.RemoveRange(listAt + 1, count);
        return PickleError.None;
    }

    private PickleError Put(double key)
    {
        if (!TryTop(out var v)) return PickleError.Malformed;
        if (key < 0 || key >= limits.MaxMemo) return PickleError.MemoTooLarge;
        var k = (int)key;
        if (k >= _memo.Length)
        {
            var size = (int)Math.Min(limits.MaxMemo, Math.Max(k + 1L, _memo.Length * 2L));
            Array.Resize(ref _memo, size);
            Array.Resize(ref _memoSet, size);
        }
        _memo[k] = v;
        _memoSet[k] = true;
        _memoMax = Math.Max(_memoMax, k);
        _memoNext = Math.Max(_memoNext, k + 1);
        return PickleError.None;
    }

    private PickleError Get(double key)
    {
        if (key < 0 || key > _memoMax || !_memoSet[(int)key]) return PickleError.Malformed;
        return Push(_memo[(int)key]);
    }

    private bool TryElements(in Value v, out ReadOnlySpan<Value> elements)
    {
        switch (v.Kind)
        {
            case Kind.List: elements = CollectionsMarshal.AsSpan(_lists[v.A]); return true;
            case Kind.Tuple: elements = CollectionsMarshal.AsSpan(_tupleItems).Slice(v.A, v.B); return true;
            default: elements = default; return false;
        }
    }

    private bool TryString(ReadOnlySpan<byte> frame, in Value v, out ReadOnlySpan<byte> s)
    {
        s = v.Kind switch
        {
            Kind.Str => frame.Slice(v.A, v.B),
            Kind.ScratchStr => _scratch.AsSpan(v.A, v.B),
            _ => default,
        };
        return v.Kind is Kind.Str or Kind.ScratchStr;
    }

    /// <summary>Python's <c>float(x)</c> for what carbon accepts: numbers, bools and numeric strings.</summary>
    private bool TryNumber(ReadOnlySpan<byte> frame, in Value v, out double n)
    {
        n = v.Num;
        if (v.Kind is Kind.Int or Kind.Float or Kind.Bool) return true;
        return TryString(frame, v, out var s) && TryParseFloat(s, out n);
    }

    // ---- protocol 0 strings, decoded into the scratch buffer ----

    private Span<byte> ScratchFor(int maxBytes)
    {
        if (_scratchLength + maxBytes > _scratch.Length)
            Array.Resize(ref _scratch, Math.Max(_scratch.Length * 2, _scratchLength + maxBytes));
        return _scratch.AsSpan(_scratchLength);
    }

    private Value Scratch(int length)
    {
        var v = new Value { Kind = Kind.ScratchStr, A = _scratchLength, B = length };
        _scratchLength += length;
        return v;
    }

    /// <summary>Python's <c>codecs.escape_decode</c>, which pickle applies to a protocol-0 STRING.</summary>
    private bool TryEscapeDecode(ReadOnlySpan<byte> s, out Value v)
    {
        v = default;
        var o = ScratchFor(s.Length);
        var n = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\') { o[n++] = s[i]; continue; }
            if (++i >= s.Length) return false;
            var c = s[i];
            switch (c)
            {
                case (byte)'\n': break;
                case (byte)'\\' or (byte)'\'' or (byte)'"': o[n++] = c; break;
                case (byte)'a': o[n++] = 7; break;
                case (byte)'b': o[n++] = 8; break;
                case (byte)'f': o[n++] = 12; break;
                case (byte)'n': o[n++] = 10; break;
                case (byte)'r': o[n++] = 13; break;
                case (byte)'t': o[n++] = 9; break;
                case (byte)'v': o[n++] = 11; break;
                case (byte)'x':
                    if (i + 2 >= s.Length || !byte.TryParse(s.Slice(i + 1, 2), System.Globalization.NumberStyles.HexNumber, null, out var h)) return false;
                    o[n++] = h; i += 2;
                    break;
                case >= (byte)'0' and <= (byte)'7':
                    {
                        var value = 0;
                        var j = i;
                        for (; j < s.Length && j < i + 3 && s[j] is >= (byte)'0' and <= (byte)'7'; j++) value = value * 8 + (s[j] - '0');
                        o[n++] = (byte)value; i = j - 1;
                        break;
                    }
                default: o[n++] = (byte)'\\'; o[n++] = c; break; // Python keeps unknown escapes
            }
        }
        v = Scratch(n);
        return true;
    }

    /// <summary>Python's raw-unicode-escape, which pickle applies to a protocol-0 UNICODE: \uXXXX, \UXXXXXXXX, else Latin-1.</summary>
    private bool TryRawUnicodeDecode(ReadOnlySpan<byte> s, out Value v)
    {
        v = default;
        var o = ScratchFor(s.Length * 2); // Latin-1 → UTF-8 at most doubles; an escape shrinks
        var n = 0;
        Span<char> pair = stackalloc char[2];
        for (var i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (s[i] == '\\' && i + 1 < s.Length && s[i + 1] is (byte)'u' or (byte)'U')
            {
                var digits = s[i + 1] == 'u' ? 4 : 8;
                if (i + 2 + digits > s.Length) return false;
                if (!int.TryParse(s.Slice(i + 2, digits), System.Globalization.NumberStyles.HexNumber, null, out cp) || cp is < 0 or > 0x10FFFF) return false;
                i += 1 + digits;
            }
            if (!Rune.TryCreate(cp, out var rune)) return false; // a lone surrogate: not text carbon could store
            n += rune.EncodeToUtf8(o[n..]);
        }
        v = Scratch(n);
        return true;
    }
}
