"""python -m bench.storeday: write a synthetic store-day."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import bench.storeday
from bench.storeday.day import StoreDayConfig
from bench.storeday.generate import generate
from bench.storeday.write import write


def main(argv: Sequence[str] | None = None) -> int:
    defaults = StoreDayConfig()
    parser = argparse.ArgumentParser(description=(bench.storeday.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--visitors", type=int, default=defaults.visitors)
    parser.add_argument("--day", type=date.fromisoformat, default=defaults.day, help="local date, YYYY-MM-DD")
    parser.add_argument("--time-zone", default=defaults.time_zone)
    args = parser.parse_args(argv)
    config = StoreDayConfig(seed=args.seed, visitors=args.visitors, day=args.day, time_zone=args.time_zone)
    started = time.perf_counter()
    day = generate(config)
    generated = time.perf_counter()
    summary = write(day, args.out)
    done = time.perf_counter()
    print(json.dumps(summary))
    print(
        f"generated {day.rows:,} lines in {generated - started:.1f} s, "
        f"wrote {summary['files']} files in {done - generated:.1f} s "
        f"({day.rows / (done - started):,.0f} lines/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
