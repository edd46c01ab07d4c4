"""Render a job options file (infra/jobs/*.yaml) into Beam command-line arguments.

python -m anonflow.infra.jobs.options infra/jobs/flink.yaml --value entry_stream=... --value tables_bucket=...
"""

from __future__ import annotations

import argparse
import shlex
import string
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from anonflow.contract.errors import AnonflowError, InputError
from anonflow.contract.settings import read_mapping


def placeholders(template: str) -> set[str]:
    return set(string.Template(template).get_identifiers())


def job_arguments(path: Path, values: Mapping[str, str]) -> list[str]:
    """`--key=value` for every option in `path`, `${name}` placeholders filled from `values`.

    Raises InputError naming a placeholder without a value, or a value no option uses.
    """
    options = read_mapping(path, "job options", holds="option to value")
    needed = set().union(*(placeholders(str(v)) for v in options.values()))
    missing, unused = sorted(needed - set(values)), sorted(set(values) - needed)
    if missing:
        raise InputError(f"job options {path}: give --value for {', '.join(missing)}")
    if unused:
        raise InputError(f"job options {path}: no option uses {', '.join(unused)}")
    arguments = []
    for key, value in options.items():
        if value is True:
            arguments.append(f"--{key}")
        else:
            arguments.append(f"--{key}={string.Template(str(value)).substitute(values)}")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m anonflow.infra.jobs.options", description=__doc__)
    parser.add_argument("options_file", type=Path)
    parser.add_argument(
        "--value", action="append", default=[], metavar="NAME=VALUE", help="fill a placeholder"
    )
    args = parser.parse_args(argv)
    try:
        values = dict(item.split("=", 1) for item in args.value if "=" in item)
        if len(values) != len(args.value):
            raise InputError("--value takes NAME=VALUE")
        print(shlex.join(job_arguments(args.options_file, values)))
    except AnonflowError as error:
        print(f"anonflow.infra.jobs.options: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
