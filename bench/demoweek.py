"""A synthetic week for the demo store: seven store-days from the store-day generator, store-local.

The demo's real clips cover a few minutes, so a report on them alone shows what a store looks like in its
first minutes. This writes seven days of the generator's store (four cameras, a door line, opening hours
08:00-20:00 local) under the demo store's id, with a weekly profile (quieter early in the week, busiest on
Saturday), so the report can show a running store. Every file it writes says it is synthetic: the
entries' producer is `synthetic-store-day`, and OUT/SYNTHETIC.json records how the week was made.

    python -m bench.demoweek --out demo-out/synthetic-week --last-day 2026-11-21

Output: OUT/entries/YYYY/MM/DD/HH/*.ndjson (the job's input), OUT/stores.yaml, OUT/SYNTHETIC.json, and
OUT/days/<local date>/ with each day's truth.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from bench.storeday import StoreDayConfig, generate, write

# People per day relative to the week's mean, Monday first: a small high-street shop.
WEEKDAY_PROFILE: Final = (0.75, 0.8, 0.9, 0.95, 1.15, 1.45, 1.0)
MARKER: Final = "SYNTHETIC.json"


@dataclass(frozen=True, slots=True)
class WeekConfig:
    """What the synthetic week looks like; the defaults keep the demo's Beam run to seconds."""

    store_id: str = "demo-store"
    last_day: date = date(2026, 11, 21)
    days: int = 7
    mean_people: int = 180
    time_zone: str = "Europe/Berlin"
    fps: float = 0.5  # entries per second per track: the report needs windows, not every frame
    bad_lines: int = 2
    seed: int = 16


def write_week(config: WeekConfig, out: Path) -> dict[str, object]:
    """Write the week under `out` (replacing an earlier one) and return what SYNTHETIC.json says."""
    if out.exists():
        shutil.rmtree(out)
    days: list[dict[str, str | int]] = []
    for offset in range(config.days):
        day = config.last_day - timedelta(days=config.days - 1 - offset)
        people = round(config.mean_people * WEEKDAY_PROFILE[day.weekday()])
        generated = generate(
            StoreDayConfig(
                seed=config.seed + offset,
                day=day,
                store_id=config.store_id,
                time_zone=config.time_zone,
                visitors=people,
                fps=config.fps,
                bad_lines=config.bad_lines,
            )
        )
        folder = out / "days" / day.isoformat()
        write(generated, folder)
        # The entry files of all days in one tree (their paths are UTC hours, so they never collide); the
        # day's truth and store file stay behind, out of the job's input.
        shutil.copytree(folder / "entries", out / "entries", dirs_exist_ok=True)
        shutil.rmtree(folder / "entries")
        days.append({"date": day.isoformat(), "people": people, "entries": generated.unique_entries})
    # Every day wrote the same store file; one copy at the top is what the job reads.
    shutil.copyfile(out / "days" / str(days[0]["date"]) / "stores.yaml", out / "stores.yaml")
    marker = {
        "synthetic": True,
        "note": "Synthetic week drawn by the store-day generator (bench/storeday/); not a real store.",
        "store_id": config.store_id,
        "time_zone": config.time_zone,
        "days": days,
        "seed": config.seed,
    }
    (out / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    return marker


def main(argv: Sequence[str] | None = None) -> int:
    defaults = WeekConfig()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write (replaced)")
    parser.add_argument("--store-id", default=defaults.store_id)
    parser.add_argument(
        "--last-day", type=date.fromisoformat, default=defaults.last_day, help="local date, YYYY-MM-DD"
    )
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument("--mean-people", type=int, default=defaults.mean_people)
    parser.add_argument("--time-zone", default=defaults.time_zone)
    args = parser.parse_args(argv)
    config = WeekConfig(
        store_id=args.store_id,
        last_day=args.last_day,
        days=args.days,
        mean_people=args.mean_people,
        time_zone=args.time_zone,
    )
    marker = write_week(config, args.out)
    print(json.dumps(marker))
    return 0


if __name__ == "__main__":
    sys.exit(main())
