"""The data plane: encrypted buckets, the entry stream, the raw archive, the Glue catalog, Athena."""
