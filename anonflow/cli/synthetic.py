"""The demo's synthetic week: seven store-days for the demo store, run through the job, beside the clips.

The store-day generator is benchmark tooling (bench/storeday/, with bench/demoweek.py laying out the
week) and is not part of the installed package, so the demo runs it as a separate process from the source
checkout. Installed without the checkout, the demo says so in one line and goes on without the week.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import anonflow
from anonflow.contract.errors import InputError

SYNTHETIC_FOLDER = "synthetic-week"


@dataclass(frozen=True, slots=True)
class SyntheticWeek:
    """Where the week was written: its entries, the store file the job needs, and the marker file."""

    root: Path
    entries: Path
    stores: Path


def source_checkout() -> Path | None:
    """The repository the package runs from, if it is a checkout holding the generator."""
    root = Path(anonflow.__file__).resolve().parents[1]
    return root if (root / "bench" / "demoweek.py").is_file() else None


def write_week(
    output: Path, store_id: str, time_zone: str, last_day: str, mean_people: int | None = None
) -> SyntheticWeek | None:
    """Generate the week under `output/synthetic-week`; None (with a printed reason) without a checkout.
    `mean_people` overrides the generator's people per day (its default keeps the demo's run to seconds)."""
    checkout = source_checkout()
    if checkout is None:
        print(
            "synthetic week skipped: its generator (bench/) ships with the source repository, not the "
            "installed package; run the demo from a checkout, or pass --no-synthetic"
        )
        return None
    root = output / SYNTHETIC_FOLDER
    command = [
        sys.executable,
        "-m",
        "bench.demoweek",
        f"--out={root.resolve()}",
        f"--store-id={store_id}",
        f"--time-zone={time_zone}",
        f"--last-day={last_day}",
        *([f"--mean-people={mean_people}"] if mean_people is not None else []),
    ]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise InputError(f"the synthetic week could not be generated: {last}")
    return SyntheticWeek(root, root / "entries", root / "stores.yaml")
