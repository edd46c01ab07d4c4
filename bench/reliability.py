"""Zero-loss delivery across a broker outage, at a chosen entry rate.

Entries are spooled at `--rate` per second over `--cameras` cameras and sent by the gateway's sender
over MQTT5 with mutual TLS (the awsiot SDK) to a local mosquitto that requires client certificates.
After `--before` seconds the broker stops for `--outage` seconds, then comes back; production goes on
for `--after` seconds and the run waits until everything is delivered (or `--drain-timeout`).

    python bench/reliability.py --rate 200 --outage 10

prints
    sent N received N lost L duplicates D
followed by the peak spool depth, the time from the broker's return to the last delivery, and how
many cameras saw their entries out of spool order. Needs mosquitto (Debian: apt-get install mosquitto).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.kit.rehearsal import rehearse_outage


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0, help="entries per second, all cameras (100)")
    parser.add_argument("--cameras", type=int, default=4, help="cameras the entries are spread over (4)")
    parser.add_argument("--before", type=float, default=2.0, help="seconds of normal running first (2)")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the broker is down (5)")
    parser.add_argument("--after", type=float, default=2.0, help="seconds of production after it returns (2)")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="longest wait for delivery (120)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.cameras < 1:
        parser.error("--rate must be positive and --cameras at least 1")
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="anonflow-reliability-") as workdir:
        report = rehearse_outage(
            Path(workdir),
            rate_per_s=args.rate,
            cameras=args.cameras,
            before_s=args.before,
            outage_s=args.outage,
            after_s=args.after,
            drain_timeout_s=args.drain_timeout,
        )
    print(report.line())
    print(
        f"peak spool depth {report.peak_depth} entries; delivered {report.drain_s:.1f} s after the broker "
        f"returned; cameras out of order {report.out_of_order}"
    )
    return 0 if report.lost == 0 and report.out_of_order == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
