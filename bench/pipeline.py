"""The batch Beam job on the DirectRunner over a synthetic store-day: speed, and correctness against truth.

    python -m bench.pipeline                      # the default ~1 M-entry day, 2 worker processes
    python -m bench.pipeline --visitors 300       # a quick look
    python -m bench.pipeline --workers 1          # in-process runner
    python -m bench.pipeline --portable           # PortableRunner against a local worker pool (the
                                                  # Flink sidecar arrangement, one SDK worker)

Prints the wall time of the job (reading, validating, windowing, re-connection, all tables, Parquet and
DuckDB), entries per second, the Beam counters, and how correct re-connection was:
- link quality: join precision / recall of the rule on the fragments the job builds (the generator's
  fragments equal the job's track summaries; tests/dataflow/reconnect/test_transforms.py checks that);
- the job's own tables against the generator's truth: visitors per day and per hour for the whole store
  (a journey split in two counts twice, two people joined count once), and door entries.
Generating the day is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from anonflow.contract.tables import ANALYST_TABLES
from anonflow.dataflow.journeys import STORE_ZONE
from anonflow.dataflow.pipeline import run
from anonflow.dataflow.reconnect.evaluate import evaluate
from anonflow.dataflow.reconnect.link import reconnect
from anonflow.dataflow.windows import Granularity, ZoneWindows, overlapping
from bench.storeday import StoreDay, StoreDayConfig, fragments_of, generate, write, zone_names


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


def true_zone_visitors(day: StoreDay) -> tuple[dict[str, int], dict[tuple[str, int], int]]:
    """Per zone: persons observed in it over the day, and per (zone, local hour start) in that hour."""
    keep = ~day.repeats
    person = day.track_person[day.columns["track"][keep]]
    zone = day.columns["zone"][keep]
    t_ms = day.columns["event_time_ms"][keep]
    hours = ZoneWindows(day.config.time_zone, Granularity.HOUR)
    # Local hours start on whole UTC quarter hours in every zone in use; key by the window of each hour.
    hour_keys = {h: hours(int(h) * 900_000).start_ms for h in np.unique(t_ms // 900_000)}
    quarter = t_ms // 900_000
    names = zone_names()
    daily = {names[z]: len(np.unique(person[zone == z])) for z in np.unique(zone)}
    cells = np.unique(np.stack([zone, np.vectorize(hour_keys.get)(quarter), person]), axis=1)
    hourly: dict[tuple[str, int], int] = defaultdict(int)
    for z, h, _ in cells.T:
        hourly[(names[int(z)], int(h))] += 1
    return daily, dict(hourly)


def job_tables(output: Path) -> dict[str, Any]:
    with duckdb.connect(str(output / "analytics.duckdb"), read_only=True) as db:
        rows = db.execute(
            "SELECT zone_id, granularity, epoch_ms(window_start), visitors, journeys, unlinked, "
            "entries, exits FROM footfall WHERE granularity IN ('1h', '1d')"
        ).fetchall()
        # Dead letters live in the operators' database, not here (their count is the job's counter).
        counts = {
            t.name: (db.execute(f"SELECT count(*) FROM {t.name}").fetchone() or (0,))[0]
            for t in ANALYST_TABLES
        }
    return {"footfall": rows, "rows": counts}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Estimate against truth for one zone: the day's figures and the hourly mean absolute error."""

    zone: str
    truth: int
    visitors: int
    journeys: int
    unlinked: int
    hourly_truth_mean: float
    hourly_mae_visitors: float
    hourly_mae_journeys: float

    def line(self) -> str:
        hours = max(self.hourly_truth_mean, 1e-9)
        return (
            f"  {self.zone:<16} {self.truth:>6} {self.visitors:>8} {self.visitors / self.truth - 1:>+7.1%} "
            f"{self.unlinked:>8} {self.journeys:>8} {self.journeys / self.truth - 1:>+7.1%} "
            f"{self.hourly_mae_visitors / hours:>9.1%} {self.hourly_mae_journeys / hours:>9.1%}"
        )


HEADER = (
    f"  {'zone':<16} {'people':>6} {'visitors':>8} {'error':>7} {'unlinked':>8} {'journeys':>8} "
    f"{'error':>7} {'hour MAE':>9} {'(journeys)':>9}"
)


def compare(
    zone: str, truth_day: int, truth_hours: dict[int, int], footfall: list[tuple[Any, ...]]
) -> Comparison:
    """One zone's comparison; hours the job has no row for count as 0, hours with no truth likewise."""
    day = [r for r in footfall if r[0] == zone and r[1] == "1d"]
    hourly = {int(r[2]): r for r in footfall if r[0] == zone and r[1] == "1h"}
    hours = set(truth_hours) | set(hourly)
    mae_v = float(np.mean([abs((hourly[h][3] if h in hourly else 0) - truth_hours.get(h, 0)) for h in hours]))
    mae_j = float(np.mean([abs((hourly[h][4] if h in hourly else 0) - truth_hours.get(h, 0)) for h in hours]))
    return Comparison(
        zone=zone,
        truth=truth_day,
        visitors=sum(r[3] or 0 for r in day),
        journeys=sum(r[4] or 0 for r in day),
        unlinked=sum(r[5] or 0 for r in day),
        hourly_truth_mean=float(np.mean(list(truth_hours.values()))),
        hourly_mae_visitors=mae_v,
        hourly_mae_journeys=mae_j,
    )


@contextmanager
def worker_pool() -> Iterator[str]:
    """Beam's Python worker pool on a free local port (what the Flink task managers' sidecar runs)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The pool starts SDK workers as `python`: this interpreter, with anonflow installed.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    pool = subprocess.Popen(
        [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("the worker pool did not start listening")
        yield f"localhost:{port}"
    finally:
        pool.terminate()
        pool.wait(timeout=30)


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
    parser.add_argument(
        "--portable",
        action="store_true",
        help="PortableRunner (embedded job service) against a local worker pool instead of the DirectRunner",
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
    job = [
        f"--input={data / 'entries'}",
        f"--output={output}",
        f"--stores={data / 'stores.yaml'}",
        f"--processing_time={day.config.day.isoformat()}T23:59:59Z",  # the generated day, not today
    ]
    if args.portable:
        with worker_pool() as pool:
            started = time.perf_counter()
            portable = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=EXTERNAL"]
            result = run([*job, *portable, f"--environment_config={pool}"])
            wall = time.perf_counter() - started
        how = "PortableRunner, external worker pool"
    else:
        started = time.perf_counter()
        result = run([*job, *runner])
        wall = time.perf_counter() - started
        how = f"DirectRunner, {args.workers} worker(s)"
    counters = result.counters
    print(f"job: {wall:.1f} s wall, {lines / wall:,.0f} entries/s ({how})")
    keys = (
        "entries_valid",
        "entries_dead_letter",
        "entries_duplicate",
        "entries_counted",
        "journeys",
        "people",
        "people_unanchored",
    )
    print("counters: " + json.dumps({k: counters.get(k, 0) for k in keys}))

    fragments, person_of = fragments_of(day)
    store = day.store()
    quality = evaluate(reconnect(fragments, store), fragments, person_of, store)
    print("re-connection rule on the job's fragments:")
    print(quality.summary())

    tables = job_tables(output)
    footfall = tables["footfall"]
    store_day = next(r for r in footfall if r[0] == STORE_ZONE and r[1] == "1d")
    print(
        f"door entries {store_day[6]}, exits {store_day[7]} for {summary['persons']} people "
        f"({summary['staff']} staff, {summary['parties']} shopper parties)"
    )
    zone_days, zone_hours = true_zone_visitors(day)
    lines = [compare(STORE_ZONE, summary["persons"], true_hourly_visitors(day), footfall)]
    for zone in sorted(zone_days):
        hours = {h: n for (z, h), n in zone_hours.items() if z == zone}
        lines.append(compare(zone, zone_days[zone], hours, footfall))
    print("people vs estimate per zone (day; hourly mean absolute error / mean people per hour):")
    print(HEADER)
    for comparison in lines:
        print(comparison.line())
    store = lines[0]
    hourly = store.hourly_mae_visitors / store.hourly_truth_mean
    print(
        f"headline: store visitors/day {store.visitors} vs {store.truth} people "
        f"({store.visitors / store.truth - 1:+.1%}); hourly mean |error| {store.hourly_mae_visitors:.1f} "
        f"on a mean of {store.hourly_truth_mean:.0f} ({hourly:.1%})"
    )
    print("  rows: " + ", ".join(f"{name} {n:,}" for name, n in tables["rows"].items()))
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
