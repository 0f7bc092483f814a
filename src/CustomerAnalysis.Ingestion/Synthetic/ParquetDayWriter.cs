using Parquet;
using Parquet.Schema;

namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>
/// Writes one daily table as Parquet in <see cref="Ga4ParquetSchema"/>, buffering at most one row group of rows.
/// Each leaf column is written raw: its non-null values plus definition and repetition levels computed here.
/// </summary>
internal sealed class ParquetDayWriter : IDayWriter
{
    private static readonly ParquetSchema Schema = Ga4ParquetSchema.Create();
    private static readonly Column[] Columns = BuildColumns();

    private readonly FileStream _file;
    private readonly string _eventDate;
    private readonly int _rowGroupRows;
    private readonly List<SyntheticEvent> _rows = [];
    private readonly LevelBuffers _levels = new();
    private ParquetWriter? _writer;

    public ParquetDayWriter(string path, string eventDate, int rowGroupRows)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _eventDate = eventDate;
        _rowGroupRows = rowGroupRows;
    }

    public async ValueTask WriteAsync(SyntheticEvent e, CancellationToken cancellationToken)
    {
        _rows.Add(e);
        if (_rows.Count >= _rowGroupRows) await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushRowGroupAsync(CancellationToken cancellationToken)
    {
        _writer ??= await ParquetWriter.CreateAsync(Schema, _file, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        using (var rowGroup = _writer.CreateRowGroup())
        {
            foreach (var column in Columns)
                await column.WriteAsync(rowGroup, _rows, _eventDate, _levels, cancellationToken).ConfigureAwait(false);
            rowGroup.CompleteValidate();
        }
        _rows.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        if (_rows.Count > 0 || _writer is null) await FlushRowGroupAsync(CancellationToken.None).ConfigureAwait(false);
        await _writer!.DisposeAsync().ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The leaf columns in schema order, each with where its values come from.</summary>
    private static Column[] BuildColumns()
    {
        // Struct members: null → level "struct present"; lists: element count per row.
        static Column Top(string name, Func<Row, object?> value) => new(name, value, null);
        static Column Member(string name, Func<Row, object?> value) => new(name, value, null);
        static Column Param(string name, Func<EventParam, object?> value) =>
            new(name, r => value(r.Event.Params[r.Index]), r => r.Params.Length);
        static Column Item(string name, Func<CatalogueItem, object?> value) =>
            new(name, r => value(r.Event.Items[r.Index]), r => r.Items.Length);
        static Column NoUserProperty(string name) => new(name, _ => null, _ => 0);
        static Column Absent(string name) => new(name, _ => null, null, structAbsent: true);
        static bool Purchase(Row r) => r.Event.TransactionId is not null;

        Column[] columns =
        [
            Top("event_date", r => r.EventDate), Top("event_timestamp", r => r.Event.Timestamp), Top("event_name", r => r.Event.Name),
            Param("key", p => p.Key), Param("string_value", p => p.StringValue), Param("int_value", p => p.IntValue),
            Param("float_value", _ => null), Param("double_value", _ => null),
            Top("event_previous_timestamp", _ => null),
            Top("event_value_in_usd", r => Purchase(r) ? Math.Round(r.Event.Revenue, 2) : null),
            Top("event_bundle_sequence_id", r => r.Event.BundleSequenceId), Top("event_server_timestamp_offset", _ => null),
            Top("user_id", _ => null), Top("user_pseudo_id", r => r.Event.User.PseudoId),
            Member("analytics_storage", _ => null), Member("ads_storage", _ => null), Member("uses_transient_token", _ => "No"),
            NoUserProperty("key"), NoUserProperty("string_value"), NoUserProperty("int_value"), NoUserProperty("float_value"),
            NoUserProperty("double_value"), NoUserProperty("set_timestamp_micros"),
            Top("user_first_touch_timestamp", r => r.Event.User.FirstTouchTimestamp),
            Member("revenue", _ => 0.0), Member("currency", _ => "USD"),
            Member("category", r => r.Event.User.DeviceCategory), Member("mobile_brand_name", _ => null),
            Member("mobile_model_name", _ => null), Member("mobile_marketing_name", _ => null),
            Member("mobile_os_hardware_model", _ => null), Member("operating_system", r => r.Event.User.OperatingSystem),
            Member("operating_system_version", _ => null), Member("vendor_id", _ => null), Member("advertising_id", _ => null),
            Member("language", _ => null), Member("is_limited_ad_tracking", _ => "No"), Member("time_zone_offset_seconds", _ => null),
            Member("browser", r => r.Event.User.Browser), Member("browser_version", _ => null),
            Member("continent", _ => null), Member("sub_continent", _ => null), Member("country", r => r.Event.User.Country),
            Member("region", _ => null), Member("city", _ => null), Member("metro", _ => null),
            Absent("id"), Absent("version"), Absent("install_store"), Absent("firebase_app_id"), Absent("install_source"),
            Member("medium", r => r.Event.User.TrafficSource.Medium), Member("name", r => r.Event.User.TrafficSource.Name),
            Member("source", r => r.Event.User.TrafficSource.Source),
            Top("stream_id", _ => Ga4Export.StreamId), Top("platform", _ => "WEB"),
            Absent("hostname"),
            Member("total_item_quantity", r => Purchase(r) ? (long)r.Event.Items.Length : null),
            Member("purchase_revenue_in_usd", r => Purchase(r) ? Math.Round(r.Event.Revenue, 2) : null),
            Member("purchase_revenue", r => Purchase(r) ? Math.Round(r.Event.Revenue, 2) : null),
            Member("refund_value_in_usd", _ => null), Member("refund_value", _ => null),
            Member("shipping_value_in_usd", _ => null), Member("shipping_value", _ => null),
            Member("tax_value_in_usd", _ => null), Member("tax_value", _ => null),
            Member("unique_items", r => Purchase(r) ? (long)r.Event.Items.Select(i => i.Id).Distinct().Count() : null),
            Member("transaction_id", r => r.Event.TransactionId),
            Item("item_id", i => i.Id), Item("item_name", i => i.Name), Item("item_brand", _ => Ga4Export.ItemBrand),
            Item("item_variant", _ => null), Item("item_category", i => i.Category), Item("item_category2", _ => null),
            Item("item_category3", _ => null), Item("item_category4", _ => null), Item("item_category5", _ => null),
            Item("price_in_usd", i => i.Price), Item("price", i => i.Price), Item("quantity", _ => 1L),
            Item("item_revenue_in_usd", _ => null), Item("item_revenue", _ => null), Item("item_refund_in_usd", _ => null),
            Item("item_refund", _ => null), Item("coupon", _ => null), Item("affiliation", _ => null),
            Item("location_id", _ => null), Item("item_list_id", _ => null), Item("item_list_name", _ => null),
            Item("item_list_index", _ => null), Item("promotion_id", _ => null), Item("promotion_name", _ => null),
            Item("creative_name", _ => null), Item("creative_slot", _ => null),
        ];

        var fields = Schema.GetDataFields();
        if (fields.Length != columns.Length)
            throw new InvalidOperationException($"Schema has {fields.Length} columns, writer knows {columns.Length}.");
        for (var i = 0; i < fields.Length; i++) columns[i].Bind(fields[i]);
        return columns;
    }

    /// <summary>A row (and, in a list column, the element index) as a column's value function sees it.</summary>
    private readonly record struct Row(SyntheticEvent Event, string EventDate, int Index)
    {
        public EventParam[] Params => Event.Params;
        public CatalogueItem[] Items => Event.Items;
    }

    private sealed class LevelBuffers
    {
        public int[] Definition = new int[1024];
        public int[] Repetition = new int[1024];
        public long[] Longs = new long[1024];
        public double[] Doubles = new double[1024];
        public ReadOnlyMemory<char>[] Strings = new ReadOnlyMemory<char>[1024];
        public int Levels, Values;

        public void Reset() => Levels = Values = 0;

        public void AddLevels(int definition, int repetition)
        {
            if (Levels == Definition.Length)
            {
                Array.Resize(ref Definition, Levels * 2);
                Array.Resize(ref Repetition, Levels * 2);
            }
            Definition[Levels] = definition;
            Repetition[Levels++] = repetition;
        }

        public void AddValue<T>(ref T[] buffer, T value)
        {
            if (Values == buffer.Length) Array.Resize(ref buffer, Values * 2);
            buffer[Values++] = value;
        }
    }

    /// <param name="name">The leaf's name, checked against the schema.</param>
    /// <param name="value">The leaf's value for a row (element), or null.</param>
    /// <param name="count">For a list column, its element count per row; null for other columns.</param>
    /// <param name="structAbsent">The enclosing struct is NULL in every row (as app_info in a web stream).</param>
    private sealed class Column(string name, Func<Row, object?> value, Func<Row, int>? count, bool structAbsent = false)
    {
        private DataField _field = null!;

        public void Bind(DataField field)
        {
            if (field.Name != name) throw new InvalidOperationException($"Column {field.Path} is written as '{name}'.");
            _field = field;
        }

        public async Task WriteAsync(ParquetRowGroupWriter rowGroup, List<SyntheticEvent> rows, string eventDate,
            LevelBuffers buffers, CancellationToken cancellationToken)
        {
            buffers.Reset();
            var max = _field.MaxDefinitionLevel;
            // A null leaf is defined down to its parent: the struct (or list element) it sits in.
            var nullLevel = structAbsent ? 0 : max - 1;
            foreach (var e in rows)
            {
                if (count is null)
                {
                    Append(new Row(e, eventDate, 0), max, nullLevel, repetition: 0, buffers);
                    continue;
                }
                var n = count(new Row(e, eventDate, 0));
                if (n == 0) buffers.AddLevels(0, 0); // empty list
                for (var i = 0; i < n; i++) Append(new Row(e, eventDate, i), max, nullLevel, i == 0 ? 0 : 1, buffers);
            }

            var definition = (ReadOnlyMemory<int>?)buffers.Definition.AsMemory(0, buffers.Levels);
            var repetition = count is null ? null : (ReadOnlyMemory<int>?)buffers.Repetition.AsMemory(0, buffers.Levels);
            var type = Nullable.GetUnderlyingType(_field.ClrType) ?? _field.ClrType;
            if (type == typeof(long))
                await rowGroup.WriteAllPartsAsync<long>(_field, buffers.Longs.AsMemory(0, buffers.Values), definition, repetition, cancellationToken).ConfigureAwait(false);
            else if (type == typeof(double))
                await rowGroup.WriteAllPartsAsync<double>(_field, buffers.Doubles.AsMemory(0, buffers.Values), definition, repetition, cancellationToken).ConfigureAwait(false);
            else
                await rowGroup.WriteAllPartsAsync<ReadOnlyMemory<char>>(_field, buffers.Strings.AsMemory(0, buffers.Values), definition, repetition, cancellationToken).ConfigureAwait(false);
        }

        private void Append(Row row, int max, int nullLevel, int repetition, LevelBuffers buffers)
        {
            switch (value(row))
            {
                case null:
                    buffers.AddLevels(nullLevel, repetition);
                    return;
                case long l: buffers.AddValue(ref buffers.Longs, l); break;
                case double d: buffers.AddValue(ref buffers.Doubles, d); break;
                case string s: buffers.AddValue(ref buffers.Strings, s.AsMemory()); break;
                default: throw new InvalidOperationException($"Column {_field.Path}: unexpected value type.");
            }
            buffers.AddLevels(max, repetition);
        }
    }
}
