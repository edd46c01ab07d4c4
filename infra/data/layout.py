"""Where things live inside the buckets; the Beam job and the README refer to these prefixes."""

from __future__ import annotations

from typing import Final

# Firehose writes one MQTT payload per line, GZIP-compressed, under the UTC arrival date:
#   s3://<raw bucket>/entries/date=YYYY-MM-DD/<stream>-<n>-<timestamp>-<uuid>.ndjson.gz
RAW_ENTRIES_PREFIX: Final = "entries/"
RAW_DATE_PARTITION: Final = "date=!{timestamp:yyyy-MM-dd}/"
RAW_FILE_EXTENSION: Final = ".ndjson.gz"
# Records Firehose could not deliver, and messages the topic rule could not route (its error action).
FIREHOSE_ERRORS_PREFIX: Final = "firehose-errors/"
RULE_ERRORS_PREFIX: Final = "rule-errors/"

# Tables bucket: one prefix per anonflow.contract.tables table, Hive partitions store_id=/date= below it.
TABLES_PREFIX: Final = "tables/"

# Operators bucket: the job's dead letters (rejected input, redacted), never in the analysts' reach.
DEAD_LETTERS_PREFIX: Final = "dead_letters/"

# Artifacts bucket: Greengrass component artifacts, and the Flink job's checkpoints, savepoints, HA data.
GREENGRASS_ARTIFACTS_PREFIX: Final = "greengrass/"
FLINK_STATE_PREFIX: Final = "flink/"


def table_prefix(table_name: str) -> str:
    """Prefix of one output table inside the tables bucket, e.g. `tables/footfall/`."""
    return f"{TABLES_PREFIX}{table_name}/"
