"""`anonflow report`: one self-contained HTML page of plots over the analysts' DuckDB file."""
