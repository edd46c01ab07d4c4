"""Head-free demographics on held-out people: default vs fine-tuned network, head-free vs heads visible.

Trains `headfree-demographics` with the product's own command code on a whole-person folder (PA-100K
layout) into a temporary file (nothing is written next to the shared models), then prints, on the held-out
people: gender accuracy over named people and coverage at the edge's margin, age-group
balanced accuracy and coverage, by orientation, and the gender coverage/accuracy curve, with the wall time
and the load.

    ANONFLOW_MODEL_DIR=../shared/models python bench/headfree_demographics.py ../shared/data/pa100k-train
    python bench/headfree_demographics.py DIR --epochs 6 --budget 600 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from anonflow.edge.modelfiles.registry import model_dir
from anonflow.models.report import table
from anonflow.models.train.finetune import FinetuneConfig
from anonflow.models.train.run import train_demographics


def _cell(figures: dict[str, Any] | None, key: str, metric: str) -> str:
    if not figures or key not in figures:
        return "-"
    f = figures[key]
    value = f.get(metric)
    return "-" if value is None else f"{value:.3f} (cov {f['coverage']:.2f}, n {f['labelled']})"


def rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [
        ("MODEL / CROPS", "PEOPLE", "GENDER ACC (COVERAGE)", "AGE BAL. ACC (COVERAGE)")
    ]
    for model, by_group in report["heldout_demographics"].items():
        for group, figures in by_group.items():
            out.append(
                (
                    model,
                    group,
                    _cell(figures, "gender", "accuracy"),
                    _cell(figures, "age_group", "balanced_accuracy"),
                )
            )
    return out


def curve_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [("MODEL / CROPS", "MARGIN", "COVERAGE", "ACCURACY")]
    for model, by_group in report["heldout_demographics"].items():
        for point in by_group["all"].get("gender_curve", []):
            accuracy = point["accuracy"]
            out.append(
                (
                    model,
                    f"{point['margin']:.2f}",
                    f"{point['coverage']:.3f}",
                    "-" if accuracy is None else f"{accuracy:.3f}",
                )
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder", type=Path, help="whole-person folder (images/ + labels.csv) or labelled crops"
    )
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--budget", type=float, default=900.0, help="training wall-clock cap, seconds")
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the whole report here")
    args = parser.parse_args(argv)
    source = model_dir(None)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        report = train_demographics(
            args.folder,
            None,
            source,
            output=Path(work) / "headfree-demographics.onnx",
            holdout=args.holdout,
            seed=args.seed,
            finetuning=FinetuneConfig(epochs=args.epochs, budget_seconds=args.budget, seed=args.seed),
            progress=True,
        )
    print(table(rows(report)))
    print()
    print(table(curve_rows(report)))
    print(
        f"\nwall {time.perf_counter() - started:.0f} s (training {report['training_seconds']} s, "
        f"{report['epochs']} epochs, best {report['best_epoch']}); load {os.getloadavg()[0]:.1f}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
