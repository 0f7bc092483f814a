using DuckDB.NET.Data;

namespace CustomerAnalysis.Bench;

/// <summary>Small helpers over an in-memory DuckDB connection.</summary>
internal static class Duck
{
    public static DuckDBConnection Open()
    {
        var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        return connection;
    }

    public static void Execute(this DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Runs a query and maps every row.</summary>
    public static List<T> Query<T>(this DuckDBConnection connection, string sql, Func<DuckDBDataReader, T> map)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = (DuckDBDataReader)command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(map(reader));
        return rows;
    }

    public static T Scalar<T>(this DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A SQL string literal (quotes doubled).</summary>
    public static string Literal(string value) => "'" + value.Replace("'", "''") + "'";

    /// <summary>The <c>read_parquet</c> glob for every <c>.parquet</c> file of a folder (or a file itself).</summary>
    public static string ParquetGlob(string input)
    {
        if (File.Exists(input)) return Path.GetFullPath(input);
        if (!Directory.Exists(input)) throw new ArgumentException($"Input '{input}' is neither a file nor a folder.");
        if (!Directory.EnumerateFiles(input, "*.parquet").Any())
            throw new ArgumentException($"Folder '{input}' holds no .parquet file.");
        return Path.Combine(Path.GetFullPath(input), "*.parquet");
    }
}
