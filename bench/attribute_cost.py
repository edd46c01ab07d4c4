"""Cost of reading one crop: attribute model files side by side, interleaved, one thread each.

Each round runs every model once on the same random 160x80 crop, in a shuffled order, so load changes on a
noisy machine hit all models alike; prints per model the median milliseconds per crop, its ratio to the
first model, and the file size.

    python -m bench.attribute_cost \
        ../shared/models/attributes/person-attributes-recognition-crossroad-0230.onnx \
        /tmp/m/attributes/headfree-demographics.onnx --runs 300
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from anonflow.models.report import table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="ONNX files; ratios are to the first")
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args(argv)
    import onnxruntime as ort

    missing = [str(m) for m in args.models if not m.is_file()]
    if missing:
        print(f"no such model file: {', '.join(missing)}", file=sys.stderr)
        return 2
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sessions = [
        ort.InferenceSession(str(m), options, providers=["CPUExecutionProvider"]) for m in args.models
    ]
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (1, 3, 160, 80)).astype(np.float32)
    feeds = [{s.get_inputs()[0].name: crop} for s in sessions]
    times: list[list[float]] = [[] for _ in sessions]
    for _ in range(10):  # warm-up
        for s, feed in zip(sessions, feeds, strict=True):
            s.run(None, feed)
    for _ in range(args.runs):
        for i in rng.permutation(len(sessions)):
            started = time.perf_counter()
            sessions[i].run(None, feeds[i])
            times[i].append(time.perf_counter() - started)
    medians = [float(np.median(t)) * 1000 for t in times]
    rows: list[tuple[str, ...]] = [("MODEL", "MS PER CROP (MEDIAN)", "RATIO", "MB")]
    for path, ms in zip(args.models, medians, strict=True):
        rows.append((str(path), f"{ms:.2f}", f"{ms / medians[0]:.2f}", f"{path.stat().st_size / 1e6:.1f}"))
    print(table(rows))
    print(f"\n{args.runs} interleaved rounds, one thread per model; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
