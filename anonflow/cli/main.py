"""Entry point of the `anonflow` console script.

Each subcommand lives in its own module with `register(subparsers)` that adds a parser and sets
`handler`. Heavy imports (OpenCV, ONNX Runtime, Beam) happen inside handlers, so `anonflow schema`
works on an install without the edge or dataflow extras.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from anonflow import __version__
from anonflow.contract.errors import AnonflowError

# Order is the order shown in --help.
COMMAND_MODULES = (
    "anonflow.cli.demo",
    "anonflow.cli.analyze",
    "anonflow.cli.edge",
    "anonflow.cli.pipeline",
    "anonflow.cli.query",
    "anonflow.cli.report",
    "anonflow.cli.models",
    "anonflow.cli.schema",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anonflow",
        description="Anonymous foot-traffic analytics: edge analysis, Beam aggregation, SQL tables.",
    )
    parser.add_argument("--version", action="version", version=f"anonflow {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # Only commands that hand options on to another tool (the Beam job's runner options) accept extras.
        if not getattr(args, "pass_through", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.beam_args = extra
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.handler(args)
    except AnonflowError as error:
        print(f"anonflow {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"anonflow {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
