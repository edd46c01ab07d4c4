"""Glue database and one table per `anonflow.contract.tables` table, with partition projection for Athena.

Columns, types and partition keys come from `anonflow.contract.tables`, the same definitions the Beam job
writes Parquet with, so a column added there reaches Athena on the next deploy. Partition projection
computes partitions from the store list and the date range, so no crawler or MSCK REPAIR is needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

from aws_cdk import Aws
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from anonflow.contract.tables import ANALYST_TABLES, PARTITION_KEYS, Column, ColumnType, Table
from anonflow.infra.data import layout

GLUE_TYPES: Final[dict[ColumnType, str]] = {
    "string": "string",
    "int64": "bigint",
    "double": "double",
    "bool": "boolean",
    "timestamp": "timestamp",
}
_PARQUET_INPUT: Final = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_PARQUET_OUTPUT: Final = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_PARQUET_SERDE: Final = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def glue_column(column: Column) -> glue.CfnTable.ColumnProperty:
    return glue.CfnTable.ColumnProperty(
        name=column.name, type=GLUE_TYPES[column.type], comment=column.description[:255]
    )


def projection_parameters(*, location: str, store_ids: Sequence[str], start: dt.date) -> dict[str, str]:
    """Athena partition projection over the `PARTITION_KEYS` (store_id enum, date by day)."""
    store_key, date_key = (c.name for c in PARTITION_KEYS)
    return {
        "classification": "parquet",
        "projection.enabled": "true",
        f"projection.{store_key}.type": "enum",
        f"projection.{store_key}.values": ",".join(store_ids),
        f"projection.{date_key}.type": "date",
        f"projection.{date_key}.format": "yyyy-MM-dd",
        f"projection.{date_key}.range": f"{start.isoformat()},NOW",
        f"projection.{date_key}.interval": "1",
        f"projection.{date_key}.interval.unit": "DAYS",
        "storage.location.template": f"{location}{store_key}=${{{store_key}}}/{date_key}=${{{date_key}}}/",
    }


class TablesCatalog(Construct):
    """The analysts' Glue database with every analyst table over the tables bucket (never dead letters:
    they live in the operators bucket)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        database_name: str,
        bucket: s3.IBucket,
        store_ids: Sequence[str],
        projection_start: dt.date,
        tables: Sequence[Table] = ANALYST_TABLES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.database_name = database_name
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="anonflow aggregate tables (anonymous, k-anonymous release)."
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        for table in tables:
            location = f"s3://{bucket.bucket_name}/{layout.table_prefix(table.name)}"
            cfn_table = glue.CfnTable(
                self,
                f"Table-{table.name}",
                catalog_id=Aws.ACCOUNT_ID,
                database_name=database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=table.name,
                    description=table.description,
                    table_type="EXTERNAL_TABLE",
                    parameters=projection_parameters(
                        location=location, store_ids=store_ids, start=projection_start
                    ),
                    partition_keys=[glue_column(c) for c in PARTITION_KEYS],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        columns=[glue_column(c) for c in table.columns],
                        location=location,
                        input_format=_PARQUET_INPUT,
                        output_format=_PARQUET_OUTPUT,
                        serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=_PARQUET_SERDE),
                    ),
                ),
            )
            cfn_table.node.add_dependency(self.database)
            self.tables[table.name] = cfn_table
