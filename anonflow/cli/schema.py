"""`anonflow schema entry`: print a wire contract's JSON Schema."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print a wire-contract JSON Schema",
        description="Print the JSON Schema of a wire contract, as committed in the repository.",
    )
    parser.add_argument(
        "name",
        choices=["entry", "entry-research", "entry-v1"],
        help="which contract (entry: the minimal anonymous entry v2, what gateways send by default; "
        "entry-research: v2 with research detail; entry-v1: the archived v1 the job still reads)",
    )
    parser.add_argument(
        "--generate",
        action="store_true",
        help="print the schema generated from the Python classes instead (to refresh the committed file)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from anonflow.contract import committed_entry_schema, generated_schema

    schema = generated_schema(args.name) if args.generate else committed_entry_schema(args.name)
    print(json.dumps(schema, indent=2, sort_keys=True))
    return 0
