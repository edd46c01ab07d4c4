"""Head-free demographics through the whole edge chain on held-out people, default vs trained network.

Each held-out person (the `heldout_people` the trained model's sidecar records: never seen in training,
including those the edge could not crop) is shown alone for a short jittered clip through one edge chain
(`models.evaluate.people`); per person the published label is the majority over the track's entries.
Prints per model: people tracked (and why not), gender accuracy over named people with coverage over all
people shown, age-group balanced accuracy and coverage, the gender coverage/accuracy curve over margins of
the smoothed probability with its point at 0.70 coverage (margins in steps of 0.01), the wall time and
the load.

    python -m bench.demographics_chain ../shared/data/pa100k-train --model-dir DIR_WITH_TRAINED_MODEL
    python -m bench.demographics_chain DIR --model-dir M --people 60 --frames 8 --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from anonflow.edge.modelfiles.derived import read_sidecar
from anonflow.edge.modelfiles.registry import model_dir as resolve_model_dir
from anonflow.edge.modelfiles.registry import spec
from anonflow.models.evaluate.people import ClipSettings, measure_people
from anonflow.models.report import json_ready, table


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="whole-person folder (images/ + labels.csv)")
    parser.add_argument("--model-dir", type=Path, help="model directory holding the trained model")
    parser.add_argument(
        "--models", default="person-attributes-0230,headfree-demographics", help="comma-separated"
    )
    parser.add_argument("--people", type=int, default=0, help="only the first N held-out people (0: all)")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--fps", type=float, default=6.0)
    parser.add_argument("--pose-input-height", type=int, default=None)
    parser.add_argument("--json", type=Path, help="also write the whole result here")
    args = parser.parse_args(argv)
    directory = resolve_model_dir(args.model_dir)
    trained = spec("headfree-demographics")
    people = sorted(read_sidecar(directory / trained.file).details["heldout_people"])
    if args.people:
        people = people[: args.people]
    settings = ClipSettings(frames=args.frames, fps=args.fps)
    from anonflow.edge.config import CameraChainConfig

    config = CameraChainConfig(pose_input_height=args.pose_input_height)
    result: dict[str, Any] = {"people": len(people), "settings": repr(settings), "models": {}}
    summary_rows: list[tuple[str, ...]] = [
        ("MODEL", "TRACKED", "WHY NOT", "GENDER ACC (COV)", "AGE BAL. ACC (COV)", "MARGIN", "SECONDS")
    ]
    curve_rows: list[tuple[str, ...]] = [("MODEL", "MARGIN", "COVERAGE", "ACCURACY")]
    age_rows: list[tuple[str, ...]] = [("MODEL", "AGE FLOOR", "COVERAGE", "BALANCED ACCURACY")]
    target_rows: list[tuple[str, ...]] = [("MODEL", "STRICTEST MARGIN", "COVERAGE >= 0.70", "ACCURACY")]
    for name in args.models.split(","):
        started = time.perf_counter()
        outcomes, summary, abstention = measure_people(
            args.folder, directory, attribute_model=name, files=people, config=config, settings=settings
        )
        seconds = time.perf_counter() - started
        result["models"][name] = {
            "summary": summary,
            "abstention": repr(abstention),
            "seconds": seconds,
            "outcomes": [_outcome(o) for o in outcomes],
        }
        g, a = summary["gender"], summary["age_group"]
        summary_rows.append(
            (
                name,
                _f(summary["tracked"]),
                ", ".join(f"{k} {v}" for k, v in summary["untracked_reasons"].items()) or "-",
                f"{_f(g['accuracy'])} ({_f(g['coverage'], 2)})",
                f"{_f(a['balanced_accuracy'])} ({_f(a['coverage'], 2)})",
                f"{abstention.gender_margin:.2f}",
                f"{seconds:.0f}",
            )
        )
        for point in summary["gender_curve"]:
            curve_rows.append((name, f"{point['margin']:.2f}", _f(point["coverage"]), _f(point["accuracy"])))
        target = summary["gender_at_target"]
        target_rows.append((name, f"{target['margin']:.2f}", _f(target["coverage"]), _f(target["accuracy"])))
        for point in summary.get("age_curve", []):
            age_rows.append(
                (
                    name,
                    f"{point['min_probability']:.2f}",
                    _f(point["coverage"]),
                    _f(point["balanced_accuracy"]),
                )
            )
    print(table(summary_rows))
    print()
    print(table(curve_rows))
    print()
    print(table(target_rows))
    if len(age_rows) > 1:
        print()
        print(table(age_rows))
    print(f"\n{len(people)} held-out people, {settings}; load {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(
            json.dumps(json_ready(result), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    return 0


def _outcome(outcome: Any) -> dict[str, Any]:
    return {k: getattr(outcome, k) for k in outcome.__dataclass_fields__}


if __name__ == "__main__":
    sys.exit(main())
