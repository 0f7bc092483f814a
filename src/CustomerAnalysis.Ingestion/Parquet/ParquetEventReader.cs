using System.Buffers;
using System.Runtime.CompilerServices;
using CustomerAnalysis.Core;
using CustomerAnalysis.Core.Events;
using CustomerAnalysis.Ingestion.Files;
using Parquet;
using Parquet.Meta;
using Parquet.Schema;

namespace CustomerAnalysis.Ingestion.Parquet;

/// <summary>
/// Reads the needed columns of a GA4 Parquet export (as <c>bq extract --destination_format=PARQUET</c> writes it),
/// one row group at a time (row groups are independent, so the caller may decode several at once). Parquet.Net's
/// <c>ReadAsync</c> fails on the nested <c>event_params</c> columns, so every column is read raw (packed values plus
/// definition/repetition levels) and rows are rebuilt from the levels. String columns are read by
/// <see cref="ColumnScanner"/> where it can, Parquet.Net otherwise.
/// </summary>
internal static class ParquetEventReader
{
    private const string GaSessionIdKey = "ga_session_id";
    private static ReadOnlySpan<byte> GaSessionIdKeyUtf8 => "ga_session_id"u8;

    /// <summary>The number of rows in each row group of <paramref name="path"/> (from the footer: nothing is decoded).</summary>
    public static async Task<long[]> RowGroupSizesAsync(string path, CancellationToken cancellationToken = default)
    {
        var reader = await OpenAsync(path, cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            try
            {
                EventColumns.Find(reader.Schema, path); // a file that is not a GA4 export fails before anything is read
                var sizes = reader.RowGroups.Select(group => group.RowCount).ToArray();
                if (sizes.Any(rows => rows is < 0 or > int.MaxValue))
                    throw new InvalidDataException("a row group's row count is out of range");
                return sizes;
            }
            catch (Exception e) when (IsDamage(e))
            {
                throw Damaged(path, e);
            }
        }
    }

    /// <summary>An exception from decoding a file's bytes. Parquet.Net and the page reader meet damaged input with
    /// whatever it provokes (Thrift errors, overflows, out-of-range indexes, null metadata): all of it is the
    /// file's fault, not ours. Cancellation and our own InvalidInputException are not; nor is an out-of-memory, which
    /// would mean a size was trusted before it was checked (the corruption tests would catch that).</summary>
    private static bool IsDamage(Exception e) => e is not (OperationCanceledException or InvalidInputException or OutOfMemoryException);

    private static InvalidInputException Damaged(string path, Exception e, int? group = null) => new(
        (group is { } g ? $"Cannot read row group {g} of Parquet file {path}" : $"Cannot read Parquet file {path}") +
        $": it is damaged or not Parquet ({(e is IOException or ParquetException or InvalidDataException ? "" : e.GetType().Name + ": ")}{e.Message})", e);

    /// <summary>The Parquet framing: "PAR1" at both ends and a footer length that fits between them. Checked before
    /// Parquet.Net reads the footer, which allocates the length it finds (int.MaxValue in a damaged file).</summary>
    private static void CheckFraming(string path)
    {
        const int Head = 4, Tail = 8;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var length = file.Length;
        if (length < Head + Tail)
            throw new InvalidInputException($"Cannot read Parquet file {path}: {length} bytes is too short to be Parquet.");
        Span<byte> head = stackalloc byte[Head];
        Span<byte> tail = stackalloc byte[Tail];
        RandomAccess.Read(file.SafeFileHandle, head, 0);
        RandomAccess.Read(file.SafeFileHandle, tail, length - Tail);
        if (!head.SequenceEqual("PAR1"u8) || !tail[4..].SequenceEqual("PAR1"u8))
            throw new InvalidInputException($"Cannot read Parquet file {path}: it does not begin and end with the Parquet marker (PAR1).");
        var footer = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footer <= 0 || footer > length - Head - Tail)
            throw new InvalidInputException(
                $"Cannot read Parquet file {path}: its footer length {footer} points outside the file ({length} bytes).");
        // Parquet.Net's footer parser trusts list counts (a damaged one of 2^32 kept it looping for minutes): the
        // structure is walked here first, every count checked against the bytes that are there.
        var metadata = new byte[footer];
        RandomAccess.Read(file.SafeFileHandle, metadata, length - Tail - footer);
        try
        {
            PageHeaderReader.CheckStruct(metadata);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidInputException($"Cannot read Parquet file {path}: its footer is damaged ({e.Message.Replace("page header", "footer")}).", e);
        }
    }

    /// <summary>
    /// The rows of row group <paramref name="group"/> of <paramref name="path"/>, as one batch. Opens the file itself,
    /// so that several row groups of one file can be decoded at once.
    /// </summary>
    /// <param name="rowsBefore">Rows in the file's earlier row groups (row numbers are 1-based within the file).</param>
    /// <param name="signals">Extra fields to read (<see cref="SourceBatch.SignalCategorical"/>,
    /// <see cref="SourceBatch.SignalNumeric"/>); a field whose column the file lacks reads as missing.</param>
    public static async Task<SourceBatch> ReadRowGroupAsync(string path, int group, long rowsBefore,
        SignalSet? signals = null, CancellationToken cancellationToken = default)
    {
        var reader = await OpenAsync(path, cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var columns = EventColumns.Find(reader.Schema, path);
            return await ReadRowGroupAsync(reader, group, columns, path, rowsBefore, signals ?? SignalSet.None,
                cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<ParquetReader> OpenAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            CheckFraming(path);
            return await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidInputException($"Cannot read Parquet file {path}: {e.Message}", e);
        }
        catch (Exception e) when (IsDamage(e))
        {
            throw Damaged(path, e);
        }
    }

    private static async Task<SourceBatch> ReadRowGroupAsync(ParquetReader reader, int group, EventColumns columns,
        string path, long rowsBefore, SignalSet signals, CancellationToken cancellationToken)
    {
        try
        {
            var strings = new BatchStrings();
            using var rowGroup = reader.OpenRowGroupReader(group);
            var rowCount = checked((int)rowGroup.RowCount);
            var users = await ReadStringsAsync(rowGroup, columns.UserPseudoId, rowCount, path, strings, cancellationToken)
                .ConfigureAwait(false);
            var names = await ReadStringsAsync(rowGroup, columns.EventName, rowCount, path, strings, cancellationToken)
                .ConfigureAwait(false);
            var timestamps = await ReadInt64sAsync(rowGroup, columns.EventTimestamp, rowCount, path, cancellationToken)
                .ConfigureAwait(false);
            var bundles = columns.EventBundleSequenceId is { } bundleField
                ? await ReadInt64sAsync(rowGroup, bundleField, rowCount, path, cancellationToken).ConfigureAwait(false)
                : new long?[rowCount];
            var sessions = await ReadGaSessionIdsAsync(rowGroup, columns, rowCount, path, cancellationToken)
                .ConfigureAwait(false);

            if (signals.IsEmpty)
                return new SourceBatch(path, rowsBefore + 1, strings.ToArray(), users, names, timestamps, sessions, bundles);
            var (categorical, numeric) = await ReadSignalsAsync(rowGroup, reader.Schema, columns, signals, rowCount, path,
                strings, cancellationToken).ConfigureAwait(false);
            return new SourceBatch(path, rowsBefore + 1, strings.ToArray(), users, names, timestamps, sessions, bundles)
            {
                SignalCategorical = categorical,
                SignalNumeric = numeric,
            };
        }
        catch (Exception e) when (IsDamage(e))
        {
            throw Damaged(path, e, group);
        }
    }

    /// <summary>
    /// The signal columns of a row group: flat (possibly nested-struct) columns one slot per row; event params by key
    /// (first entry with the key wins: string_value for categorical fields, int_value for numeric ones); the first
    /// non-null <c>items</c> <c>item_category</c>. A column the file lacks, or of another type, reads as missing.
    /// </summary>
    private static async Task<(int[][] Categorical, float[][] Numeric)> ReadSignalsAsync(ParquetRowGroupReader rowGroup,
        ParquetSchema schema, EventColumns columns, SignalSet signals, int rowCount, string path, BatchStrings strings,
        CancellationToken cancellationToken)
    {
        var categorical = new int[signals.Categorical.Count][];
        for (var f = 0; f < categorical.Length; f++) Array.Fill(categorical[f] = new int[rowCount], SourceBatch.Missing);
        var numeric = new float[signals.Numeric.Count][];
        for (var f = 0; f < numeric.Length; f++) Array.Fill(numeric[f] = new float[rowCount], float.NaN);
        var fields = schema.GetDataFields();

        foreach (var signal in signals.Fields)
        {
            var index = signals.IndexOf(signal);
            if (Signals.ColumnPath(signal) is { } columnPath)
            {
                var parts = columnPath.Split('.');
                var field = fields.FirstOrDefault(f => f.MaxRepetitionLevel == 0 && f.Path.ToList().SequenceEqual(parts));
                if (field is null) continue;
                if (Signals.KindOf(signal) == SignalKind.Categorical)
                {
                    if (field.ClrType != typeof(ReadOnlyMemory<char>)) continue;
                    categorical[index] = await ReadStringsAsync(rowGroup, field, rowCount, path, strings, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await ReadNumbersAsync(rowGroup, field, rowCount, path, numeric[index], cancellationToken).ConfigureAwait(false);
                }
            }
            else if (signal == SignalField.ItemCategory)
            {
                var field = fields.FirstOrDefault(f => f.MaxRepetitionLevel == 1 && f.ClrType == typeof(ReadOnlyMemory<char>)
                    && f.Path.ToList() is var p && p[0] == "items" && p[^1] == "item_category");
                if (field is null) continue;
                using var slots = await ReadStringSlotsAsync(rowGroup, field, path, strings, cancellationToken).ConfigureAwait(false);
                var row = -1;
                var target = categorical[index];
                for (var slot = 0; slot < slots.SlotCount; slot++)
                {
                    if (slots.StartsRow[slot] && ++row >= rowCount)
                        throw new InvalidInputException($"Parquet file {path}: items holds more rows than the row group");
                    if (row >= 0 && target[row] == SourceBatch.Missing) target[row] = slots.Numbers[slot];
                }
            }
        }

        var paramFields = signals.Fields.Where(f => Signals.ParamKey(f) is not null).ToArray();
        if (paramFields.Length == 0) return (categorical, numeric);
        var numbering = new ParamKeyNumbering(paramFields.Select(f => Signals.ParamKey(f)!).ToArray());
        using var keys = ColumnScanner.TryRead(path, Chunk(rowGroup, columns.ParamKey), columns.ParamKey, numbering)
            ?? await ReadStringSlotsAsync(rowGroup, columns.ParamKey, path, numbering, cancellationToken).ConfigureAwait(false);
        var (intSlots, intValues) = await ReadInt64SlotsAsync(rowGroup, columns.ParamIntValue, path, cancellationToken)
            .ConfigureAwait(false);
        using (intSlots)
        using (intValues)
        {
            var stringField = paramFields.Any(f => Signals.KindOf(f) == SignalKind.Categorical)
                ? fields.FirstOrDefault(f => f.MaxRepetitionLevel == 1 && f.ClrType == typeof(ReadOnlyMemory<char>)
                    && f.Path.ToList() is var p && p[0] == "event_params" && p.Count >= 2 && p[^1] == "string_value" && p[^2] == "value")
                : null;
            using var stringSlots = stringField is null ? null
                : await ReadStringSlotsAsync(rowGroup, stringField, path, strings, cancellationToken).ConfigureAwait(false);
            if (keys.SlotCount != intSlots.SlotCount || (stringSlots is not null && stringSlots.SlotCount != keys.SlotCount))
                throw new InvalidInputException($"Parquet file {path}: event_params key and value columns disagree in length");
            var row = -1;
            for (var slot = 0; slot < keys.SlotCount; slot++)
            {
                if (keys.StartsRow[slot] && ++row >= rowCount)
                    throw new InvalidInputException($"Parquet file {path}: event_params holds more rows than the row group");
                var key = keys.Numbers[slot] - ParamKeyNumbering.FirstWanted;
                if (key < 0 || row < 0) continue;
                var signal = paramFields[key];
                var index = signals.IndexOf(signal);
                if (Signals.KindOf(signal) == SignalKind.Categorical)
                {
                    if (stringSlots is not null && categorical[index][row] == SourceBatch.Missing)
                        categorical[index][row] = stringSlots.Numbers[slot];
                }
                else if (intSlots.Numbers[slot] != ColumnScanner.Slots.Missing && float.IsNaN(numeric[index][row]))
                {
                    numeric[index][row] = intValues[intSlots.Numbers[slot]];
                }
            }
        }
        return (categorical, numeric);
    }

    /// <summary>A flat INT64, DOUBLE or FLOAT column into <paramref name="target"/> (NaN stays where it is null).</summary>
    private static async Task ReadNumbersAsync(ParquetRowGroupReader rowGroup, DataField field, int rowCount, string path,
        float[] target, CancellationToken cancellationToken)
    {
        if (field.ClrType == typeof(long))
        {
            var values = await ReadInt64sAsync(rowGroup, field, rowCount, path, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < rowCount; i++)
                if (values[i] is { } value) target[i] = value;
        }
        else if (field.ClrType == typeof(double))
        {
            using var column = await RawColumn<double>.ReadAsync(rowGroup, field, cancellationToken).ConfigureAwait(false);
            CopyPresent(column, rowCount, target, v => (float)v);
        }
        else if (field.ClrType == typeof(float))
        {
            using var column = await RawColumn<float>.ReadAsync(rowGroup, field, cancellationToken).ConfigureAwait(false);
            CopyPresent(column, rowCount, target, v => v);
        }
    }

    private static void CopyPresent<T>(RawColumn<T> column, int rowCount, float[] target, Func<T, float> convert) where T : struct
    {
        column.EnsureOneSlotPerRow(rowCount);
        var values = column.Values;
        var next = 0;
        for (var i = 0; i < rowCount; i++)
            if (column.IsPresent(i)) target[i] = convert(values[next++]);
    }

    /// <summary>A (repeated) string column slot by slot, numbered by <paramref name="numbering"/>: straight from the
    /// file when <see cref="ColumnScanner"/> handles the chunk, else decoded by Parquet.Net.</summary>
    private static async Task<ColumnScanner.Slots> ReadStringSlotsAsync(ParquetRowGroupReader rowGroup, DataField field,
        string path, IValueNumbering numbering, CancellationToken cancellationToken)
    {
        if (ColumnScanner.TryRead(path, Chunk(rowGroup, field), field, numbering) is { } scanned) return scanned;
        using var column = await RawColumn<ReadOnlyMemory<char>>.ReadAsync(rowGroup, field, cancellationToken).ConfigureAwait(false);
        var slots = new ColumnScanner.Slots(column.SlotCount);
        var values = column.Values;
        var next = 0;
        for (var slot = 0; slot < column.SlotCount; slot++)
        {
            slots.StartsRow[slot] = field.MaxRepetitionLevel == 0 || column.RepetitionLevels[slot] == 0;
            slots.Numbers[slot] = column.IsPresent(slot)
                ? numbering.Number(System.Text.Encoding.UTF8.GetBytes(values[next++].ToArray()))
                : ColumnScanner.Slots.Missing;
        }
        return slots;
    }

    /// <summary>Numbers <c>event_params</c> keys: 0 for a key not asked for, <see cref="FirstWanted"/> + i for the
    /// i-th wanted key.</summary>
    private sealed class ParamKeyNumbering(string[] keys) : IValueNumbering
    {
        public const int FirstWanted = 1;
        private readonly byte[][] _keys = keys.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();

        public int Number(ReadOnlySpan<byte> utf8)
        {
            for (var i = 0; i < _keys.Length; i++)
                if (utf8.SequenceEqual(_keys[i])) return FirstWanted + i;
            return 0;
        }
    }

    /// <summary>The string number of each row's value (<see cref="SourceBatch.Missing"/> where it is null): straight
    /// from the file when <see cref="ColumnScanner"/> handles the chunk (the fast path), else decoded by Parquet.Net.</summary>
    private static async Task<int[]> ReadStringsAsync(ParquetRowGroupReader rowGroup, DataField field, int rowCount,
        string path, BatchStrings strings, CancellationToken cancellationToken)
    {
        var result = new int[rowCount];
        using (var scanned = ColumnScanner.TryRead(path, Chunk(rowGroup, field), field, strings))
        {
            if (scanned is not null)
            {
                if (scanned.SlotCount != rowCount)
                    throw new InvalidDataException($"column {field.Path} has {scanned.SlotCount} values for {rowCount} rows");
                scanned.Numbers.CopyTo(result); // Slots.Missing is SourceBatch.Missing
                return result;
            }
        }

        using var column = await RawColumn<ReadOnlyMemory<char>>.ReadAsync(rowGroup, field, cancellationToken)
            .ConfigureAwait(false);
        column.EnsureOneSlotPerRow(rowCount);
        var values = column.Values;
        var next = 0;
        for (var i = 0; i < rowCount; i++)
            result[i] = column.IsPresent(i) ? strings.Number(values[next++].Span) : SourceBatch.Missing;
        return result;
    }

    private static ColumnChunk Chunk(ParquetRowGroupReader rowGroup, DataField field) =>
        rowGroup.GetMetadata(field) ?? throw new InvalidDataException($"no column chunk metadata for {field.Path}");

    /// <summary>Each row's value of a flat INT64 column (null where it is null).</summary>
    private static async Task<long?[]> ReadInt64sAsync(ParquetRowGroupReader rowGroup, DataField field, int rowCount,
        string path, CancellationToken cancellationToken)
    {
        var (slots, values) = await ReadInt64SlotsAsync(rowGroup, field, path, cancellationToken).ConfigureAwait(false);
        using (slots)
        using (values)
        {
            if (slots.SlotCount != rowCount)
                throw new InvalidDataException($"column {field.Path} has {slots.SlotCount} values for {rowCount} rows");
            var result = new long?[rowCount];
            var numbers = slots.Numbers;
            for (var i = 0; i < rowCount; i++)
                if (numbers[i] != ColumnScanner.Slots.Missing)
                    result[i] = values[numbers[i]];
            return result;
        }
    }

    /// <summary>An INT64 column slot by slot: straight from the file when <see cref="ColumnScanner"/> handles the
    /// chunk (the fast path), else decoded by Parquet.Net. Dispose both.</summary>
    private static async Task<(ColumnScanner.Slots Slots, Int64Values Values)> ReadInt64SlotsAsync(
        ParquetRowGroupReader rowGroup, DataField field, string path, CancellationToken cancellationToken)
    {
        var chunk = Chunk(rowGroup, field);
        var values = new Int64Values(checked((int)(chunk.MetaData?.NumValues ?? 0)));
        try
        {
            if (ColumnScanner.TryRead(path, chunk, field, values) is { } scanned) return (scanned, values);

            using var column = await RawColumn<long>.ReadAsync(rowGroup, field, cancellationToken).ConfigureAwait(false);
            var slots = new ColumnScanner.Slots(column.SlotCount);
            var startsRow = slots.StartsRow;
            var numbers = slots.Numbers;
            var packed = column.Values;
            var next = 0;
            for (var slot = 0; slot < column.SlotCount; slot++)
            {
                startsRow[slot] = field.MaxRepetitionLevel == 0 || column.RepetitionLevels[slot] == 0;
                numbers[slot] = column.IsPresent(slot) ? values.Add(packed[next++]) : ColumnScanner.Slots.Missing;
            }
            return (slots, values);
        }
        catch
        {
            values.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Walks the <c>event_params</c> key and int_value leaves side by side: both have one slot per list element
    /// (or one per empty/null list), a repetition level of 0 starts a new row, and a value exists only where the
    /// definition level is at its maximum. The first <c>ga_session_id</c> with an int_value wins.
    /// </summary>
    private static async Task<long?[]> ReadGaSessionIdsAsync(ParquetRowGroupReader rowGroup, EventColumns columns,
        int rowCount, string path, CancellationToken cancellationToken)
    {
        using var keys = await ReadKeySlotsAsync(rowGroup, columns.ParamKey, path, cancellationToken).ConfigureAwait(false);
        var (intSlots, intValues) = await ReadInt64SlotsAsync(rowGroup, columns.ParamIntValue, path, cancellationToken)
            .ConfigureAwait(false);
        using (intSlots)
        using (intValues)
        {
            if (keys.SlotCount != intSlots.SlotCount)
                throw new InvalidInputException(
                    $"Parquet file {path}: event_params key and int_value columns disagree ({keys.SlotCount} vs {intSlots.SlotCount} values)");

            var sessions = new long?[rowCount];
            var startsRow = keys.StartsRow;
            var keyNumbers = keys.Numbers;
            var intNumbers = intSlots.Numbers;
            var row = -1;
            for (var slot = 0; slot < keys.SlotCount; slot++)
            {
                if (startsRow[slot] && ++row >= rowCount)
                    throw new InvalidInputException($"Parquet file {path}: event_params holds more rows than the row group");
                if (keyNumbers[slot] == SessionKeyNumbering.IsSessionKey && intNumbers[slot] != ColumnScanner.Slots.Missing
                    && sessions[row] is null)
                    sessions[row] = intValues[intNumbers[slot]];
            }
            return sessions;
        }
    }

    /// <summary>The key column, slot by slot, numbered by <see cref="SessionKeyNumbering"/>: straight from the file when
    /// <see cref="ColumnScanner"/> handles the chunk (the fast path), else decoded by Parquet.Net.</summary>
    private static async Task<ColumnScanner.Slots> ReadKeySlotsAsync(ParquetRowGroupReader rowGroup, DataField keyField,
        string path, CancellationToken cancellationToken)
    {
        if (ColumnScanner.TryRead(path, Chunk(rowGroup, keyField), keyField, SessionKeyNumbering.Instance) is { } scanned)
            return scanned;

        using var keys = await RawColumn<ReadOnlyMemory<char>>.ReadAsync(rowGroup, keyField, cancellationToken)
            .ConfigureAwait(false);
        var slots = new ColumnScanner.Slots(keys.SlotCount);
        var startsRow = slots.StartsRow;
        var numbers = slots.Numbers;
        var repetition = keys.RepetitionLevels;
        var values = keys.Values;
        var nextKey = 0;
        for (var slot = 0; slot < keys.SlotCount; slot++)
        {
            startsRow[slot] = repetition[slot] == 0;
            numbers[slot] = !keys.IsPresent(slot) ? ColumnScanner.Slots.Missing
                : values[nextKey++].Span.SequenceEqual(GaSessionIdKey) ? SessionKeyNumbering.IsSessionKey
                : SessionKeyNumbering.OtherKey;
        }
        return slots;
    }

    /// <summary>Numbers <c>event_params</c> keys by the one question asked of them: is it <c>ga_session_id</c>.</summary>
    private sealed class SessionKeyNumbering : IValueNumbering
    {
        public const int OtherKey = 0;
        public const int IsSessionKey = 1;
        public static readonly SessionKeyNumbering Instance = new();

        public int Number(ReadOnlySpan<byte> utf8) => utf8.SequenceEqual(GaSessionIdKeyUtf8) ? IsSessionKey : OtherKey;
    }

    /// <summary>One column chunk read raw into pooled buffers sized from the chunk's value count.</summary>
    private sealed class RawColumn<T> : IDisposable where T : struct
    {
        private readonly T[] _values;
        private readonly int[]? _definition;
        private readonly int[]? _repetition;
        private readonly int _maxDefinition;
        private readonly string _path;

        private RawColumn(T[] values, int[]? definition, int[]? repetition, int maxDefinition, int slotCount, string path)
        {
            _path = path;
            _values = values;
            _definition = definition;
            _repetition = repetition;
            _maxDefinition = maxDefinition;
            SlotCount = slotCount;
        }

        /// <summary>Values, packed: only slots whose definition level is at its maximum have one.</summary>
        public ReadOnlySpan<T> Values => _values.AsSpan(0, SlotCount);
        public int SlotCount { get; }
        public ReadOnlySpan<int> RepetitionLevels =>
            _repetition ?? throw new InvalidOperationException("column is not repeated");

        public void EnsureOneSlotPerRow(int rowCount)
        {
            if (SlotCount != rowCount)
                throw new InvalidDataException($"column {_path} has {SlotCount} values for {rowCount} rows");
        }

        public bool IsPresent(int slot) => _definition is null || _definition[slot] == _maxDefinition;

        public static async Task<RawColumn<T>> ReadAsync(ParquetRowGroupReader rowGroup, DataField field,
            CancellationToken cancellationToken)
        {
            var slotCount = checked((int)(rowGroup.GetMetadata(field)?.MetaData?.NumValues
                ?? throw new InvalidDataException($"no column chunk metadata for {field.Path}")));
            var values = ArrayPool<T>.Shared.Rent(slotCount);
            var definition = field.MaxDefinitionLevel > 0 ? ArrayPool<int>.Shared.Rent(slotCount) : null;
            var repetition = field.MaxRepetitionLevel > 0 ? ArrayPool<int>.Shared.Rent(slotCount) : null;
            var column = new RawColumn<T>(values, definition, repetition, field.MaxDefinitionLevel, slotCount,
                field.Path.ToString());
            try
            {
                await rowGroup.ReadRawAsync(field, values.AsMemory(0, slotCount),
                    definition?.AsMemory(0, slotCount), repetition?.AsMemory(0, slotCount), cancellationToken)
                    .ConfigureAwait(false);
                return column;
            }
            catch
            {
                column.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            // Strings hold references into Parquet.Net's buffers: clear them so the pool does not keep those alive.
            ArrayPool<T>.Shared.Return(_values, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            if (_definition is not null) ArrayPool<int>.Shared.Return(_definition);
            if (_repetition is not null) ArrayPool<int>.Shared.Return(_repetition);
        }
    }
}
