"""The batch Beam job on the DirectRunner over a synthetic store-day: speed, and correctness against truth.

    python -m bench.pipeline                      # the default ~1 M-entry day, 2 worker processes
    python -m bench.pipeline --visitors 300       # a quick look
    python -m bench.pipeline --workers 1          # in-process runner

Prints the wall time of the job (reading, validating, windowing, re-connection, all tables, Parquet and
DuckDB), entries per second, the Beam counters, and how correct re-connection was:
- link quality: join precision / recall of the rule on the fragments the job builds (the generator's
  fragments equal the job's track summaries; tests/dataflow/test_reconnect_transforms.py checks that);
- the job's own tables against the generator's truth: visitors per day and per hour for the whole store
  (a journey split in two counts twice, two people joined count once), and door entries.
Generating the day is not timed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from anonflow.contract.tables import ALL_TABLES
from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.pipeline import run
from anonflow.dataflow.reconnect.evaluate import evaluate
from anonflow.dataflow.reconnect.link import reconnect
from anonflow.dataflow.windows import Granularity, ZoneWindows, overlapping
from bench.storeday import StoreDay, StoreDayConfig, fragments_of, generate, write


def true_hourly_visitors(day: StoreDay) -> dict[int, int]:
    """Store-local hour start (UTC ms) -> persons present (first to last observation) during the hour."""
    keep = ~day.repeats
    person = day.track_person[day.columns["track"][keep]]
    t_ms = day.columns["event_time_ms"][keep]
    first = np.full(person.max() + 1, np.iinfo(np.int64).max)
    last = np.full(person.max() + 1, np.iinfo(np.int64).min)
    np.minimum.at(first, person, t_ms)
    np.maximum.at(last, person, t_ms)
    hours = ZoneWindows(day.config.time_zone, Granularity.HOUR)
    present: dict[int, int] = defaultdict(int)
    for start, end in zip(first, last, strict=True):
        for window in overlapping(hours, int(start), int(end)):
            present[window.start_ms] += 1
    return dict(present)


def job_tables(output: Path) -> dict[str, Any]:
    with duckdb.connect(str(output / "analytics.duckdb"), read_only=True) as db:
        store = f"zone_id = '{STORE_ZONE}'"
        daily = db.execute(
            f"SELECT visitors, entries, exits FROM footfall WHERE {store} AND granularity = '1d'"
        )
        visitors, entries, exits = daily.fetchone() or (0, 0, 0)
        hourly = db.execute(
            f"SELECT epoch_ms(window_start), visitors FROM footfall WHERE {store} AND granularity = '1h'"
        ).fetchall()
        rows = {
            t.name: (db.execute(f"SELECT count(*) FROM {t.name}").fetchone() or (0,))[0] for t in ALL_TABLES
        }
    return {"visitors": visitors, "entries": entries, "exits": exits, "hourly": dict(hourly), "rows": rows}


def main(argv: Sequence[str] | None = None) -> int:
    defaults = StoreDayConfig()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--visitors", type=int, default=defaults.visitors)
    parser.add_argument(
        "--workers", type=int, default=2, help="DirectRunner worker processes (1: in-process)"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="keep the day and the tables here (default: a temp dir)"
    )
    args = parser.parse_args(argv)

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="anonflow-bench-"))
    day = generate(StoreDayConfig(seed=args.seed, visitors=args.visitors))
    data = work / "day"
    if data.exists():
        shutil.rmtree(data)
    summary = write(day, data)
    lines = day.rows + summary["bad_lines"]
    size_mb = sum(p.stat().st_size for p in (data / "entries").rglob("*.ndjson")) / 1e6
    print(
        f"store-day: {lines:,} lines ({size_mb:,.0f} MB) in {summary['files']} files, "
        f"{summary['persons']} persons"
    )

    runner = ["--direct_num_workers=1"]
    if args.workers > 1:
        runner = [f"--direct_num_workers={args.workers}", "--direct_running_mode=multi_processing"]
    output = work / "tables"
    started = time.perf_counter()
    result = run(
        [
            f"--input={data / 'entries'}",
            f"--output={output}",
            f"--stores={data / 'stores.yaml'}",
            f"--processing_time={day.config.day.isoformat()}T23:59:59Z",  # the generated day, not today
            *runner,
        ]
    )
    wall = time.perf_counter() - started
    counters = result.counters
    print(f"job: {wall:.1f} s wall, {lines / wall:,.0f} entries/s ({args.workers} worker(s))")
    keys = ("entries_valid", "entries_dead_letter", "entries_duplicate", "entries_counted", "journeys")
    print("counters: " + json.dumps({k: counters.get(k, 0) for k in keys}))

    fragments, person_of = fragments_of(day)
    store = day.store()
    quality = evaluate(reconnect(fragments, store), fragments, person_of, store)
    print("re-connection rule on the job's fragments:")
    print(quality.summary())

    tables = job_tables(output)
    truth_hourly = true_hourly_visitors(day)
    errors = [abs(tables["hourly"].get(h, 0) - n) for h, n in truth_hourly.items()]
    print(
        f"tables vs truth: store visitors/day {tables['visitors']} vs {summary['persons']} persons "
        f"({tables['visitors'] / summary['persons'] - 1:+.1%}); door entries {tables['entries']}, "
        f"exits {tables['exits']} vs {summary['persons']}"
    )
    mean_truth = float(np.mean(list(truth_hourly.values())))
    print(
        f"  visitors per hour: mean |error| {np.mean(errors):.1f} on a mean of {mean_truth:.0f} "
        f"({np.mean(errors) / mean_truth:.1%})"
    )
    print("  rows: " + ", ".join(f"{name} {n:,}" for name, n in tables["rows"].items()))
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
