"""What each release costs and whether it holds, on the benchmark store-day (generator truth): the
k-anonymous release (default) and the differentially private one (`--dp-epsilon`, default 1.0).

    python -m bench.privacy                  # 300 visitors, k = 3, DP at epsilon 1 per store-day
    python -m bench.privacy --visitors 2600 --k 5 --dp-epsilon 2
    python -m bench.privacy --dp-granularity-split 5m=0.05,1h=0.8,1d=0.15 --dp-max-cells 5m=12,1h=3,1d=2 \
        --dp-table-split footfall=0.8,dwell=0.05,demographics=0.05,flows=0.05,heatmap=0.05

Builds the day's journeys with the job's own pure steps (parse, track summaries, re-connection), computes
every table, releases it, and prints per table:
- cells released with fewer than k true people behind them (must be 0), and the same count for the
  naive rule (k on journeys) for comparison;
- the hidden share: rows not published, and the visitors those rows held;
- the error the release alone adds to hourly store visitors (released vs unprotected `*` hourly rows,
  mean |error| over the day's hours as a share of the mean; goal <= 5 %).

The DP section prints the same per table and granularity: rows released (noisy counts of public keys
above zero), true rows not published, released rows backed by fewer than k true people (DP promises no
k: a row may be pure noise), and the error on hourly store visitors against the journeys DP counts and
against the people estimate the k-anonymous release counts. Noise is OpenDP's (unseeded): figures move
a little from run to run.
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
from anonflow.dataflow.dpbudget import DpBudget, budget_from_options
from anonflow.dataflow.dpnoise import OpenDpNoise
from anonflow.dataflow.dprelease import dp_release
from anonflow.dataflow.journeys import STORE_ZONE, StoreDay, journeys_of
from anonflow.dataflow.observation import Observation
from anonflow.dataflow.partitions import PublicVocabulary, key_columns
from anonflow.dataflow.reconnect.link import reconnect
from anonflow.dataflow.release import release, support
from anonflow.dataflow.support import OVERLAP_MS, contributors
from anonflow.dataflow.tracks import summarise
from anonflow.dataflow.transforms.parse import Rejected, parse_payload
from anonflow.dataflow.windows import Granularity, ZoneWindows
from bench.storeday import CAMERAS, StoreDayConfig, generate, zone_names

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


def _hourly(source: Sequence[Row], *, journeys: bool = False) -> dict[int, int]:
    """Hourly `*` visitors by window start; journeys: the journeys behind each unprotected row instead."""
    return {
        r["window_start"]: len(r[CONTRIBUTORS]) if journeys else r["visitors"]
        for r in source
        if r["zone_id"] == STORE_ZONE and r["granularity"] == Granularity.HOUR.value
    }


def _error(truth: dict[int, int], published: dict[int, int]) -> str:
    errors = [abs(published.get(h, 0) - n) for h, n in truth.items()]
    mean = sum(truth.values()) / len(truth)
    share = sum(errors) / len(errors) / mean
    mae = sum(errors) / len(errors)
    return f"mean |error| {mae:.2f} on a mean of {mean:.1f} ({share:.1%}), largest {max(errors)}"


def differential(
    day: StoreDay, persons: Sequence[set[int]], budget: DpBudget, *, k: int, grid: int, draws: int
) -> None:
    """The DP release of every table (OpenDP noise) against the truth (see the module docstring)."""
    epsilon = budget.epsilon
    vocabulary = PublicVocabulary(day.time_zone, zone_names(), tuple(CAMERAS), grid)
    who = contributors(day.journeys)
    print(
        f"\ndifferentially private release: epsilon {epsilon} per store-day, split {budget.tables}, "
        f"{budget.granularities}, max cells {budget.max_cells}"
    )
    print(f"{'table':<13}{'gran.':<6}{'true rows':>10}{'released':>10}{'not published':>15}{'<k people':>11}")
    hourly = ""
    for table, rows_of in TABLES:
        rows = rows_of(day)
        batch = TableRows(table.name, day.store_id, day.date, 0, tuple(rows), who)
        released, _ = dp_release(batch, table, budget, vocabulary, OpenDpNoise())
        columns = key_columns(table)
        true_rows = {tuple(r[c] for c in columns): r for r in rows}
        for granularity in sorted({r["granularity"] for r in rows}, key=len):
            part = {key: r for key, r in true_rows.items() if r["granularity"] == granularity}
            out = [r for r in released.rows if r["granularity"] == granularity]
            out_keys = {tuple(r[c] for c in columns) for r in out}
            below = sum(1 for key in out_keys if key not in part or _people(part[key], persons) < k)
            hidden = sum(1 for key in part if key not in out_keys) / max(len(part), 1)
            print(
                f"{table.name:<13}{granularity:<6}{len(part):>10,}{len(out):>10,}{hidden:>15.1%}{below:>11,}"
            )
        if table is FOOTFALL:
            # One draw of noise is a noisy figure of the error: average the share over `draws` releases.
            truth = _hourly(rows, journeys=True)
            shares = []
            for _ in range(draws):
                again, _ = dp_release(batch, table, budget, vocabulary, OpenDpNoise())
                published = _hourly(again.rows)
                shares.append(
                    sum(abs(published.get(h, 0) - n) for h, n in truth.items()) / sum(truth.values())
                )
            shares.sort()
            hourly = (
                f"hourly store visitors under DP (journeys, what it counts; one draw: "
                f"{_error(truth, _hourly(released.rows))}); over {draws} draws the error is "
                f"{sum(shares) / draws:.1%} of the mean (middle 80 %: {shares[draws // 10]:.1%} to "
                f"{shares[-1 - draws // 10]:.1%}; goal <= 5 %)"
            )
    print(hourly)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--dwell-min-support", type=int, default=10)
    parser.add_argument("--dp-epsilon", type=float, default=1.0, help="DP budget per store-day (0: skip)")
    parser.add_argument("--grid", type=int, default=16, help="heat-map cells per image side")
    parser.add_argument("--dp-table-split", help="as the job's --dp_table_split")
    parser.add_argument("--dp-granularity-split", help="as the job's --dp_granularity_split")
    parser.add_argument("--dp-max-cells", help="as the job's --dp_max_cells")
    parser.add_argument(
        "--dp-draws", type=int, default=50, help="DP releases the hourly error is averaged over"
    )
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
    if args.dp_epsilon > 0:
        budget = budget_from_options(
            args.dp_epsilon, args.dp_table_split, args.dp_granularity_split, args.dp_max_cells
        )
        assert budget is not None
        differential(day, persons, budget, k=args.k, grid=args.grid, draws=args.dp_draws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
