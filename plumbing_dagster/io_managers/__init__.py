"""IO managers for the warehouses: DuckDB (on dagster-duckdb) and Postgres (on the same DbIOManager
machinery). Both replace exactly a partition's rows in one transaction."""
