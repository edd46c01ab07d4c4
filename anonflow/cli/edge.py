"""`anonflow edge --config CONFIG.yaml`: the long-running store gateway process."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "edge",
        help="run the store gateway: cameras -> anonymous entries -> spool -> IoT Core or files",
        description=(
            "Analyse the configured cameras continuously and deliver anonymous entries through a durable "
            "on-disk spool to AWS IoT Core (Greengrass IPC or MQTT5 with mutual TLS) or to local NDJSON "
            "files. Stops on SIGTERM/SIGINT, or once every file source has ended and all entries are sent."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, metavar="CONFIG.yaml", help="gateway settings")
    parser.add_argument(
        "--check", action="store_true", help="validate the configuration, print a summary, and exit"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from anonflow.edge.runtime import logs
    from anonflow.edge.runtime.config import load_config
    from anonflow.edge.runtime.gateway import Gateway

    config = load_config(args.config)
    if args.check:
        cameras = ", ".join(f"{c.id} ({c.fps:g} fps)" for c in config.cameras)
        print(
            f"{args.config}: ok: store {config.store_id}, gateway {config.gateway_id}, "
            f"transport {config.transport.kind}, cameras {cameras}"
        )
        return 0
    logs.configure("debug" if args.verbose else config.log_level)
    gateway = Gateway(config)

    def _stop(_signum: int, _frame: object) -> None:
        gateway.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return gateway.run()
