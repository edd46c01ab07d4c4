"""`anonflow pipeline --input PATH --output DIR`: the Beam job (DirectRunner unless told otherwise)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="run the Beam job: entries -> validated, windowed tables (Parquet + DuckDB)",
        description="Read entry files, validate them (bad lines go to the dead_letter table with the "
        "reason), drop duplicates, window by event time and write the analysts' tables as Parquet "
        "under OUTPUT, plus OUTPUT/analytics.duckdb with a view per table for a local OUTPUT. Any "
        "standard Beam option (--runner, --streaming, --temp_location, ...) is passed to Beam.",
    )
    parser.add_argument(
        "--input", required=True, help="entries: a file, glob or directory/prefix (local, s3://)"
    )
    parser.add_argument("--output", required=True, help="table directory (local) or prefix (s3://, gs://)")
    parser.add_argument(
        "--k-anonymity", type=int, default=3, help="suppress rows with fewer visitors (default 3)"
    )
    parser.set_defaults(handler=run, pass_through=True, beam_args=[])


def run(args: argparse.Namespace, beam_args: list[str] | None = None) -> int:
    from anonflow.errors import InputError
    from dataflow.pipeline import run as run_job

    if args.k_anonymity < 1:
        raise InputError("--k-anonymity must be at least 1")
    argv = [
        f"--input={args.input}",
        f"--output={args.output}",
        f"--k_anonymity={args.k_anonymity}",
        *(beam_args if beam_args is not None else getattr(args, "beam_args", [])),
    ]
    result = run_job(argv)
    counters = result.counters
    print(
        f"files {result.files}, entries valid {counters.get('entries_valid', 0)}, "
        f"dead-letter {counters.get('entries_dead_letter', 0)}, "
        f"duplicates dropped {counters.get('entries_duplicate', 0)}"
    )
    print(f"tables written under {result.output}")
    return 0
