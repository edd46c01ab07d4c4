"""How well re-connection recovers the synthetic store-day's true journeys, and how fast it runs.

    python -m bench.reconnect                 # the default ~1 M-entry day
    python -m bench.reconnect --visitors 300  # a quick look

Prints join precision/recall per kind (occlusion within a camera, transit across cameras), how many
people were reconstructed exactly, and why the missed true links were missed. The generator's walks come
from distributions of their own (bench/storeday/walks.py), not from the rule's thresholds: long
occlusions, lingering out of view and light changing the appearance group happen as they would, and
the rule, correctly, does not join what its evidence does not support.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from anonflow.dataflow.reconnect.evaluate import evaluate
from anonflow.dataflow.reconnect.link import reconnect
from bench.storeday import StoreDayConfig, fragments_of, generate


def main(argv: Sequence[str] | None = None) -> int:
    defaults = StoreDayConfig()
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--visitors", type=int, default=defaults.visitors)
    args = parser.parse_args(argv)
    day = generate(StoreDayConfig(seed=args.seed, visitors=args.visitors))
    fragments, person_of = fragments_of(day)
    store = day.store()
    started = time.perf_counter()
    result = reconnect(fragments, store)
    elapsed = time.perf_counter() - started
    print(f"{day.unique_entries:,} entries, {len(fragments):,} fragments: re-connected in {elapsed:.2f} s")
    print(evaluate(result, fragments, person_of, store).summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
