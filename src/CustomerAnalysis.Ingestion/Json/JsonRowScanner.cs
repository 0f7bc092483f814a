using System.Text;
using System.Text.Json;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;

namespace CustomerAnalysis.Ingestion.Json;

/// <summary>
/// Splits a JSON byte stream into rows (top-level objects of NDJSON, or elements of a top-level array) and parses
/// each into a <see cref="SourceRow"/>. Bytes arrive through <see cref="FillAsync"/>; <see cref="ScanBufferedRows"/>
/// takes every complete row in the buffer and keeps an incomplete one for the next fill, carrying the
/// <see cref="JsonReaderState"/> (which also carries the line number used in syntax error messages).
/// </summary>
internal sealed class JsonRowScanner(Stream stream, string path, StringPool strings, SignalSet? signals = null)
{
    /// <summary>A larger row is treated as corrupt input: memory must stay bounded by the rows kept.</summary>
    public const int MaxRowBytes = 64 * 1024 * 1024;

    private enum Layout { Unknown, Empty, Array, NewlineDelimited }

    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _endOfStream;
    private Layout _layout;
    private JsonReaderState _state;
    private long _rowNumber;

    /// <summary>Reads more bytes: moves the unconsumed tail to the front, grows the buffer if one row fills it.</summary>
    public async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_endOfStream) return;
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxRowBytes)
                throw new InvalidInputException(
                    $"JSON file {path}: row {_rowNumber + 1} is larger than {MaxRowBytes / (1024 * 1024)} MiB");
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        int read;
        try
        {
            read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new InvalidInputException($"Cannot read JSON file {path}: {e.Message}", e);
        }
        _end += read;
        _endOfStream = read == 0;
    }

    /// <summary>Adds every complete row now in the buffer to <paramref name="rows"/>; true once the input is done.</summary>
    public bool ScanBufferedRows(List<SourceRow> rows)
    {
        if (_layout == Layout.Unknown && !TryDetectLayout()) return false;
        if (_layout == Layout.Empty) return true;

        var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _endOfStream, _state);
        var consumed = 0L;
        try
        {
            while (true)
            {
                var stateBeforeToken = reader.CurrentState;
                if (!reader.Read()) break;
                var rowDepth = _layout == Layout.Array ? 1 : 0;
                if (reader.CurrentDepth < rowDepth) // the array's own brackets
                {
                    consumed = reader.BytesConsumed;
                    continue;
                }
                var rowStart = (int)reader.TokenStartIndex;
                if (!reader.TrySkip())
                {
                    // The row is not complete in the buffer yet: resume at its start after the next fill.
                    _state = stateBeforeToken;
                    _start += (int)consumed;
                    return false;
                }
                _rowNumber++;
                var rowBytes = _buffer.AsSpan(_start + rowStart, (int)reader.BytesConsumed - rowStart);
                rows.Add(JsonRowParser.Parse(rowBytes, strings, path, _rowNumber, signals));
                consumed = reader.BytesConsumed;
            }
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"JSON file {path} line {e.LineNumber + 1}: malformed JSON ({TrimPosition(e.Message)})", e);
        }
        catch (InvalidOperationException e)
        {
            // What Utf8JsonReader throws for text it cannot turn into a string (a lone surrogate escape, bad UTF-8).
            throw new InvalidInputException($"JSON file {path} row {_rowNumber + 1}: unreadable text ({e.Message})", e);
        }
        _state = reader.CurrentState;
        _start += (int)reader.BytesConsumed;
        return _endOfStream;
    }

    /// <summary>Looks at the first non-whitespace byte (after a UTF-8 byte order mark): '[' or '{'.</summary>
    private bool TryDetectLayout()
    {
        var text = _buffer.AsSpan(_start, _end - _start);
        if (text.StartsWith(Encoding.UTF8.Preamble)) _start += Encoding.UTF8.Preamble.Length;
        else if (Encoding.UTF8.Preamble.StartsWith(text) && !_endOfStream) return false;

        var first = _buffer.AsSpan(_start, _end - _start).IndexOfAnyExcept(" \t\r\n"u8);
        if (first < 0)
        {
            if (!_endOfStream) return false;
            _layout = Layout.Empty;
            return true;
        }
        _layout = _buffer[_start + first] switch
        {
            (byte)'[' => Layout.Array,
            (byte)'{' => Layout.NewlineDelimited,
            _ => throw new InvalidInputException(
                $"JSON file {path} is neither a JSON array nor newline-delimited JSON objects (it starts with '{(char)_buffer[_start + first]}')"),
        };
        _state = new JsonReaderState(new JsonReaderOptions { AllowMultipleValues = _layout == Layout.NewlineDelimited });
        return true;
    }

    /// <summary>System.Text.Json appends a 0-based position to its messages; the caller states the line itself.</summary>
    private static string TrimPosition(string message)
    {
        var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at < 0 ? message : message[..at]).TrimEnd('.', ' ');
    }
}
