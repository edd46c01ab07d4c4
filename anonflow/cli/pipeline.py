"""`anonflow pipeline --input PATH --output DIR`: the Beam job (DirectRunner unless told otherwise)."""

from __future__ import annotations

import argparse
from typing import Any

from anonflow.cli.pipeline_help import JobHelpAction

# The job fields this command takes under its own spelling (the job itself reads --k_anonymity etc.).
ALIASES = {"k_anonymity": "--k-anonymity", "dp_epsilon": "--dp-epsilon"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        add_help=False,
        help="run the Beam job: entries -> validated, windowed tables (Parquet + DuckDB)",
        description="Read entries, validate them (bad lines go to the dead_letter table with the reason), "
        "drop repeated entry ids, window by store-local day, re-connect tracks into anonymous journeys and "
        "write the footfall, dwell, demographics, flows and heatmap tables as Parquet under OUTPUT (plus "
        "OUTPUT/analytics.duckdb with a view per table for a local OUTPUT). Every option below is passed to "
        "the job; options the command does not name itself go on to Beam unchanged.",
    )
    parser.add_argument(
        "-h",
        "--help",
        action=JobHelpAction,
        aliases=ALIASES,
        help="every option the job takes, grouped, and exit",
    )
    parser.add_argument(
        "--input",
        required=True,
        help="entries: a file, glob or directory/prefix (local, s3://; gzip is detected), "
        "kinesis://STREAM or pubsub://projects/P/subscriptions/S",
    )
    parser.add_argument("--output", required=True, help="table directory (local) or prefix (s3://, gs://)")
    parser.add_argument("--stores", help="stores YAML: time zones and camera links (default: UTC, no links)")
    parser.add_argument(
        "--k-anonymity",
        type=int,
        default=3,
        help="publish no row backed by fewer people (default 3, at least 2)",
    )
    parser.add_argument(
        "--dp-epsilon",
        type=float,
        help="publish differentially private tables (OpenDP) with this budget per store-day instead of "
        "k-anonymous ones; needs --stores naming every store's zones and cameras",
    )
    parser.set_defaults(handler=run, pass_through=True, beam_args=[])


def run(args: argparse.Namespace, beam_args: list[str] | None = None) -> int:
    from anonflow.dataflow.pipeline import run as run_job

    argv = [f"--input={args.input}", f"--output={args.output}", f"--k_anonymity={args.k_anonymity}"]
    argv += [f"--stores={args.stores}"] if args.stores else []
    argv += [f"--dp_epsilon={args.dp_epsilon}"] if args.dp_epsilon is not None else []
    result = run_job([*argv, *(beam_args if beam_args is not None else getattr(args, "beam_args", []))])
    counters = result.counters
    print(
        f"files {result.files}, entries valid {counters.get('entries_valid', 0)}, "
        f"dead-letter {counters.get('entries_dead_letter', 0)}, "
        f"duplicates dropped {counters.get('entries_duplicate', 0)}, "
        f"journeys {counters.get('journeys', 0)}"
    )
    print(f"tables written under {result.output}")
    return 0
