"""The Greengrass component's process: `python -m anonflow.edge.greengrass.main [--config FILE]`.

Settings come from FILE, else from the component configuration (see `settings`). Logs are JSON lines
on stderr, which the nucleus writes to the component's log file. SIGTERM (the nucleus stopping the
component) ends the run cleanly; unsent entries stay in the spool for the next start.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from anonflow.contract.errors import AnonflowError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="anonflow-greengrass", description=__doc__)
    parser.add_argument("--config", type=Path, help="gateway YAML (default: the component configuration)")
    args = parser.parse_args(argv)

    from anonflow.edge.greengrass.settings import gateway_settings
    from anonflow.edge.runtime import logs
    from anonflow.edge.runtime.gateway import Gateway

    try:
        config = gateway_settings(args.config)
        logs.configure(config.log_level)
        gateway = Gateway(config)
        signal.signal(signal.SIGTERM, lambda _signum, _frame: gateway.stop())
        signal.signal(signal.SIGINT, lambda _signum, _frame: gateway.stop())
        return gateway.run()
    except AnonflowError as error:
        # One line the operator finds in the component log; exit 2 marks the component as broken.
        print(f"anonflow greengrass component: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
