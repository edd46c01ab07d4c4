"""What the k-anonymous release costs and whether it holds, on the benchmark store-day (generator truth).

    python -m bench.privacy                  # 300 visitors, k = 3
    python -m bench.privacy --visitors 2600 --k 5

Builds the day's journeys with the job's own pure steps (parse, track summaries, re-connection), computes
every table, releases it, and prints per table:
- cells released with fewer than k true people behind them (must be 0), and the same count for the
  naive rule (k on journeys) for comparison;
- the hidden share: rows not published, and the visitors those rows held;
- the error the release alone adds to hourly store visitors (released vs unprotected `*` hourly rows,
  mean |error| over the day's hours as a share of the mean; goal <= 5 %).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from anonflow.contract.tables import DEMOGRAPHICS, DWELL, FLOWS, FOOTFALL, HEATMAP, Table
from anonflow.dataflow.aggregate.base import CONTRIBUTORS, Row, TableRows
from anonflow.dataflow.aggregate.demographics import demographics_rows
from anonflow.dataflow.aggregate.dwell import dwell_rows
from anonflow.dataflow.aggregate.flows import flows_rows
from anonflow.dataflow.aggregate.footfall import footfall_rows
from anonflow.dataflow.aggregate.heatmap import heatmap_rows
from anonflow.dataflow.journeys import STORE_ZONE, StoreDay, journeys_of
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.reconnect.link import reconnect
from anonflow.dataflow.release import release, support
from anonflow.dataflow.support import OVERLAP_MS, contributors
from anonflow.dataflow.tracks import summarise
from anonflow.dataflow.transforms.parse import Rejected, parse_payload
from anonflow.dataflow.windows import Granularity, ZoneWindows
from bench.storeday import StoreDayConfig, generate

TABLES: tuple[tuple[Table, Callable[[StoreDay], list[Row]]], ...] = (
    (FOOTFALL, footfall_rows),
    (DWELL, dwell_rows),
    (DEMOGRAPHICS, demographics_rows),
    (FLOWS, flows_rows),
    (HEATMAP, heatmap_rows),
)


def job_day(visitors: int, seed: int) -> tuple[StoreDay, list[set[int]]]:
    """The day as the job sees it, and the true persons behind each of its journeys."""
    day = generate(StoreDayConfig(seed=seed, visitors=visitors))
    by_track: dict[tuple[str, str, str], list[Observation]] = defaultdict(list)
    for line in day.render(0, day.rows).decode().splitlines():
        for item in parse_payload(line):
            if not isinstance(item, Rejected):
                observation = Observation.from_entry(item)
                by_track[observation.fragment_key].append(observation)
    tracks = [summarise(observations) for observations in by_track.values()]
    store = day.store()
    linked = reconnect([t.fragment for t in tracks], store)
    journeys = journeys_of(tracks, linked.journey_of, int(store.occlusion.max_gap_s * 1000))
    person_of = {tid.decode(): int(p) for tid, p in zip(day.track_ids, day.track_person, strict=True)}
    persons = [{person_of[t.fragment.track_id] for t in j.tracks} for j in journeys]
    start = min(j.start_ms for j in journeys)
    window = ZoneWindows(store.time_zone, Granularity.DAY)(start)
    job = StoreDay(
        day.config.store_id, store.time_zone, window.start_ms, window.end_ms, 0, "on_time", journeys
    )
    return job, persons


def _people(row: Row, persons: Sequence[set[int]]) -> int:
    return len(set().union(*(persons[i] for i in row[CONTRIBUTORS])))


def overlapping_persons(day: StoreDay, persons: Sequence[set[int]]) -> tuple[int, int]:
    """(persons with two journeys overlapping beyond OVERLAP_MS, the largest such overlap in ms)."""
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for journey, owners in zip(day.journeys, persons, strict=True):
        for person in owners:
            spans[person].append((journey.start_ms, journey.end_ms))
    broken, largest = set(), 0
    for person, own in spans.items():
        for a, (s1, e1) in enumerate(own):
            for s2, e2 in own[a + 1 :]:
                overlap = min(e1, e2) - max(s1, s2)
                largest = max(largest, overlap)
                if overlap > OVERLAP_MS:
                    broken.add(person)
    return len(broken), largest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--dwell-min-support", type=int, default=10)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    day, persons = job_day(args.visitors, args.seed)
    built = time.perf_counter() - started
    who = contributors(day.journeys)
    people_total = len(set().union(*persons))
    print(
        f"benchmark day: {args.visitors} visitors, seed {args.seed}: {len(day.journeys)} journeys of "
        f"{people_total} persons (built in {built:.1f} s); k = {args.k}; load {os.getloadavg()[0]:.2f}"
    )
    broken, largest = overlapping_persons(day, persons)
    print(
        f"assumption (one person's journeys overlap by at most {OVERLAP_MS / 1000:.0f} s): broken by "
        f"{broken} persons; largest overlap of one person's journeys {largest / 1000:.1f} s"
    )
    secret = secrets.token_bytes(32)
    hourly_error = ""
    print(
        f"{'table':<13}{'gran.':<6}{'rows':>7}{'hidden':>9}{'visitors hidden':>17}"
        f"{'<k people: release':>20}{'naive':>7}"
    )
    for table, rows_of in TABLES:
        rows = rows_of(day)
        batch = TableRows(table.name, day.store_id, day.date, 0, tuple(rows), who)
        released, _ = release(
            batch, table, secret, k=args.k, dwell_min_support=args.dwell_min_support, dwell_round_s=30.0
        )
        for granularity in ("all", *sorted({r["granularity"] for r in rows}, key=len)):
            part = [r for r in rows if granularity in ("all", r["granularity"])]
            kept = [row for row in part if support(row, who) >= args.k]
            below = sum(1 for row in kept if _people(row, persons) < args.k)
            naive_below = sum(
                1 for row in part if row["visitors"] >= args.k and _people(row, persons) < args.k
            )
            total = sum(row["visitors"] for row in part)
            lost = total - sum(row["visitors"] for row in kept)
            hidden = 1 - len(kept) / max(len(part), 1)
            print(
                f"{table.name:<13}{granularity:<6}{len(part):>7,}{hidden:>9.1%}{lost / max(total, 1):>17.1%}"
                f"{below:>20}{naive_below:>7}"
            )
        if table is FOOTFALL:

            def hourly(source: Sequence[Row]) -> dict[int, int]:
                return {
                    r["window_start"]: r["visitors"]
                    for r in source
                    if r["zone_id"] == STORE_ZONE and r["granularity"] == Granularity.HOUR.value
                }

            truth, published = hourly(rows), hourly(released.rows)
            errors = [abs(published.get(h, 0) - n) for h, n in truth.items()]
            mean = sum(truth.values()) / len(truth)
            hourly_error = (
                f"hourly store visitors: mean |error| from the release {sum(errors) / len(errors):.2f} on a "
                f"mean of {mean:.1f} ({sum(errors) / len(errors) / mean:.1%}; goal <= 5 %), "
                f"largest {max(errors)}"
            )
    print(hourly_error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
