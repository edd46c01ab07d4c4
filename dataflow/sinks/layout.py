"""The layout the job writes, checked before anything reads a tables directory (`anonflow query`).

    <root>/<table>/_privacy.json
    <root>/<table>/store_id=<id>/date=<YYYY-MM-DD>/<name>.parquet

A directory edited by hand (a copied folder at the wrong depth, a file that is not Parquet, a partition of
a table the job does not write) would otherwise be read in part, fail deep inside DuckDB, or be skipped
silently by the views' glob. Names starting with "." or "_" are the job's own sidecars and in-flight
writes and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from anonflow.contract.entry import is_identifier
from anonflow.contract.tables import Table

PARQUET_MAGIC = b"PAR1"
_DATE = re.compile(r"date=(\d{4}-\d{2}-\d{2})")


def _own(path: Path) -> bool:
    return path.name.startswith((".", "_"))


def _is_parquet(path: Path) -> bool:
    """Parquet files start and end with the magic bytes (the footer's length sits before the last)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            size = handle.seek(0, 2)
            if size < 12:
                return False
            handle.seek(-4, 2)
            return head == PARQUET_MAGIC and handle.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def _valid_date(name: str) -> bool:
    match = _DATE.fullmatch(name)
    if not match:
        return False
    try:
        date.fromisoformat(match.group(1))
    except ValueError:
        return False
    return True


def _table_problems(root: Path, table_dir: Path) -> Iterator[str]:
    for store in sorted(table_dir.iterdir()):
        where = store.relative_to(root)
        if _own(store):
            continue
        store_id = store.name.removeprefix("store_id=")
        if not store.is_dir() or store_id == store.name or not is_identifier(store_id):
            yield f"{where}: not a store_id=<id> partition"
            continue
        for day in sorted(store.iterdir()):
            if _own(day):
                continue
            if not day.is_dir() or not _valid_date(day.name):
                yield f"{day.relative_to(root)}: not a date=YYYY-MM-DD partition"
                continue
            for item in sorted(day.iterdir()):
                if _own(item):
                    continue
                if item.is_dir() or item.suffix != ".parquet":
                    yield f"{item.relative_to(root)}: only .parquet files belong in a partition"
                elif not _is_parquet(item):
                    yield f"{item.relative_to(root)}: not a Parquet file"


def layout_problems(root: Path, tables: tuple[Table, ...]) -> list[str]:
    """One line per problem found under `root`, which should hold only `tables` (empty: all is well).

    Files at the top (the DuckDB database, its write-ahead log, notes) are not partitions and are left
    alone; every directory must be one of `tables`, laid out as the job writes it.
    """
    known = {t.name for t in tables}
    problems: list[str] = []
    for entry in sorted(root.iterdir()):
        if _own(entry) or not entry.is_dir():
            continue
        if entry.name not in known:
            problems.append(f"{entry.name}/: not a table here (expected {', '.join(sorted(known))})")
            continue
        problems.extend(_table_problems(root, entry))
    return problems
