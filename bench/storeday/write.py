"""Writing the day: entry files as Firehose nests them, the store file, the truth, and bad lines."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import yaml

from bench.storeday.day import StoreDay
from bench.storeday.layout import CAMERAS


def write(day: StoreDay, out: Path) -> dict[str, Any]:
    """Write entry files, stores.yaml and truth.json under `out`; returns the truth summary."""
    rng = np.random.default_rng(day.config.seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    keys, starts = np.unique(day.file_keys, return_index=True)
    ends = np.r_[starts[1:], len(day.file_keys)]
    paths: list[Path] = []
    for key, a, b in zip(keys, starts, ends, strict=True):
        hour, camera = divmod(int(key), len(CAMERAS))
        at = datetime.fromtimestamp(hour * 3600, tz=ZoneInfo("UTC"))
        path = (
            out / "entries" / at.strftime("%Y/%m/%d/%H") / f"{day.config.store_id}-{CAMERAS[camera]}.ndjson"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(day.render(int(a), int(b)))
        paths.append(path)

    bad = _bad_lines(day, rng)
    for line in bad:
        with paths[int(rng.integers(0, len(paths)))].open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    store = day.store()
    (out / "stores.yaml").write_text(
        yaml.safe_dump({"stores": [store.model_dump(mode="json")]}, sort_keys=False), encoding="utf-8"
    )
    truth = {
        "store_id": day.config.store_id,
        "seed": day.config.seed,
        "persons": len(day.person_party),
        "staff": int(day.person_staff.sum()),
        "parties": len(np.unique(day.person_party[~day.person_staff])),
        "tracks": len(day.track_ids),
        "unique_entries": day.unique_entries,
        "duplicate_entries": day.rows - day.unique_entries,
        "bad_lines": len(bad),
        "files": len(paths),
        "track_person": {
            tid.decode(): int(p) for tid, p in zip(day.track_ids, day.track_person, strict=True)
        },
    }
    (out / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return {k: v for k, v in truth.items() if k != "track_person"}


def _bad_lines(day: StoreDay, rng: np.random.Generator) -> list[str]:
    """Lines the job must reject with a reason, drawn from real entries so they look like the rest."""
    count = day.config.bad_lines
    if count == 0:
        return []
    picks = rng.integers(0, day.rows, size=count)
    samples = [json.loads(day.render(int(i), int(i) + 1)) for i in picks]
    lines = []
    for i, entry in enumerate(samples):
        kind = i % 6
        if kind == 0:
            text = json.dumps(entry)
            lines.append(text[: int(rng.integers(10, len(text) - 10))])
            continue
        if kind == 1:
            entry["keypoints"]["nose"] = {"x": 0.5, "y": 0.1, "score": 0.9}
        elif kind == 2:
            del entry["camera_id"]
        elif kind == 3:
            entry["appearance_group"] = entry["appearance_groups"]
        elif kind == 4:
            entry["event_time_ms"] = 12_345
        else:
            lines.append("\x00\x01 not an entry")
            continue
        lines.append(json.dumps(entry))
    return lines
