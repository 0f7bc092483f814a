using System.Reflection;
using Parquet.Schema;

namespace CustomerAnalysis.Ingestion.Synthetic;

/// <summary>
/// The nested schema of a BigQuery GA4 Parquet extract (as in the real sample tables): optional columns and
/// structs, and REQUIRED 3-level lists (<c>event_params/list/element/{key, value{…}}</c>, <c>user_properties</c>,
/// <c>items</c>) whose elements are REQUIRED groups.
/// </summary>
internal static class Ga4ParquetSchema
{
    public static ParquetSchema Create() => new(
        Str("event_date"), Long("event_timestamp"), Str("event_name"),
        RequiredList("event_params", Str("key"),
            new StructField("value", Str("string_value"), Long("int_value"), Dbl("float_value"), Dbl("double_value"))),
        Long("event_previous_timestamp"), Dbl("event_value_in_usd"), Long("event_bundle_sequence_id"),
        Long("event_server_timestamp_offset"), Str("user_id"), Str("user_pseudo_id"),
        new StructField("privacy_info", Long("analytics_storage"), Long("ads_storage"), Str("uses_transient_token")),
        // INT64 throughout, as in the real extract (the sample never fills user_properties).
        RequiredList("user_properties", Long("key"),
            new StructField("value", Long("string_value"), Long("int_value"), Long("float_value"), Long("double_value"),
                Long("set_timestamp_micros"))),
        Long("user_first_touch_timestamp"),
        new StructField("user_ltv", Dbl("revenue"), Str("currency")),
        new StructField("device", Str("category"), Str("mobile_brand_name"), Str("mobile_model_name"),
            Str("mobile_marketing_name"), Long("mobile_os_hardware_model"), Str("operating_system"),
            Str("operating_system_version"), Long("vendor_id"), Long("advertising_id"), Str("language"),
            Str("is_limited_ad_tracking"), Long("time_zone_offset_seconds"),
            new StructField("web_info", Str("browser"), Str("browser_version"))),
        new StructField("geo", Str("continent"), Str("sub_continent"), Str("country"), Str("region"), Str("city"), Str("metro")),
        new StructField("app_info", Str("id"), Str("version"), Str("install_store"), Str("firebase_app_id"), Str("install_source")),
        new StructField("traffic_source", Str("medium"), Str("name"), Str("source")),
        Long("stream_id"), Str("platform"),
        new StructField("event_dimensions", Str("hostname")),
        new StructField("ecommerce", Long("total_item_quantity"), Dbl("purchase_revenue_in_usd"), Dbl("purchase_revenue"),
            Dbl("refund_value_in_usd"), Dbl("refund_value"), Dbl("shipping_value_in_usd"), Dbl("shipping_value"),
            Dbl("tax_value_in_usd"), Dbl("tax_value"), Long("unique_items"), Str("transaction_id")),
        RequiredList("items", Str("item_id"), Str("item_name"), Str("item_brand"), Str("item_variant"), Str("item_category"),
            Str("item_category2"), Str("item_category3"), Str("item_category4"), Str("item_category5"), Dbl("price_in_usd"),
            Dbl("price"), Long("quantity"), Dbl("item_revenue_in_usd"), Dbl("item_revenue"), Dbl("item_refund_in_usd"),
            Dbl("item_refund"), Str("coupon"), Str("affiliation"), Str("location_id"), Str("item_list_id"),
            Str("item_list_name"), Str("item_list_index"), Str("promotion_id"), Str("promotion_name"),
            Str("creative_name"), Str("creative_slot")));

    private static DataField<string> Str(string name) => new(name, nullable: true);
    private static DataField<long?> Long(string name) => new(name);
    private static DataField<double?> Dbl(string name) => new(name);

    private static ListField RequiredList(string name, params Field[] elementFields) =>
        Required(new ListField(name, Required(new StructField("element", elementFields))));

    /// <summary>
    /// Parquet.Net 6.1 builds lists and structs as OPTIONAL and has no public switch for REQUIRED, which BigQuery
    /// writes for repeated fields. <see cref="Field.IsNullable"/> has a non-public setter that its own schema
    /// decoder uses; we set it the same way. A test reads the written schema back to catch a package change.
    /// </summary>
    private static T Required<T>(T field) where T : Field
    {
        var setter = typeof(Field).GetProperty(nameof(Field.IsNullable))?.GetSetMethod(nonPublic: true)
            ?? throw new InvalidOperationException("Parquet.Net no longer lets Field.IsNullable be set; update Ga4ParquetSchema.");
        setter.Invoke(field, [false]);
        return field;
    }
}
