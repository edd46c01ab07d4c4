"""Where the job's tables go: Parquet partitioned by store and date, plus DuckDB views locally."""
