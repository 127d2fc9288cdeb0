"""Raw layer: dlt-backed assets that land API data as parquet, one day folder per partition."""
