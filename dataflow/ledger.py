"""One differentially private release per store-day and table: the ledger that refuses a second one.

Noise that is drawn again can be averaged away: a re-run of the job, or a later streaming pane of the same
day, would publish a fresh draw of the same counts, and the mean of n releases has n times less noise
variance. OpenDP's samplers cannot be seeded (on purpose: their randomness is the operating system's),
so the same noise cannot be drawn twice; instead the first release is kept and every later one refused.

The ledger holds one small JSON marker per table, store and date under `<output>/_dp_releases/`, written
*before* the rows: if the write of the table then fails, the budget counts as spent and the day stays
unpublished rather than being released twice (fail closed). On a local disk the marker is created
exclusively (two workers cannot both claim a day); on object stores the check and the write are two
calls, which is enough for the job's one element per table, store-day and pane.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from apache_beam.io.filesystems import FileSystems

LEDGER_DIR: Final = "_dp_releases"


class ReleaseLedger:
    """Claims of (table, store, date) releases under `<root>/_dp_releases/` (local path or Beam URL)."""

    def __init__(self, root: str) -> None:
        self.root = FileSystems.join(root.rstrip("/"), LEDGER_DIR)

    def marker(self, table: str, store_id: str, date: str) -> str:
        return FileSystems.join(self.root, table, f"store_id={store_id}", f"date={date}.json")

    def released(self, table: str, store_id: str, date: str) -> bool:
        return FileSystems.exists(self.marker(table, store_id, date))

    def claim(self, table: str, store_id: str, date: str, record: dict[str, Any]) -> bool:
        """True if this call claimed the release (the marker is written); False if it was made before."""
        path = self.marker(table, store_id, date)
        body = json.dumps({**record, "claimed_at": datetime.now(UTC).isoformat()}, sort_keys=True).encode()
        if "://" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(body)
            return True
        if FileSystems.exists(path):
            return False
        with FileSystems.create(path, mime_type="application/json") as handle:
            handle.write(body)
        return True
